"""The TextClassifier from its settings, fresh, from GloVe or from a pretrained run."""

from __future__ import annotations

import logging
from pathlib import Path

from torch import nn

from loralab.models.glove import load_glove
from loralab.models.pretrained import read_text_classifier_weights
from loralab.models.text_classifier import TextClassifier
from loralab.settings.model import TextClassifierNet

log = logging.getLogger(__name__)


def build_text_classifier(
    vocab: dict[str, int],
    num_classes: int,
    net: TextClassifierNet,
    glove_path: str | Path | None = None,
    pretrained: str | Path | None = None,
    pad_token: str = "<pad>",
) -> TextClassifier:
    """A TextClassifier of ``net``'s sizes for ``vocab`` (given by the data's tokenizer): what
    training builds, and what a finished run is rebuilt from.

    ``pretrained`` (a run folder or checkpoint) loads trained weights, then gives the model a new
    ``fc2`` head when ``num_classes`` differs from the checkpoint's (AG News 4 -> IMDb 2).
    ``glove_path`` initialises the embedding from GloVe instead.
    """
    pooling = {"word_dropout": net.word_dropout, "count_each_word_once": net.count_each_word_once}
    if pretrained:
        return _from_pretrained(
            pretrained,
            vocab,
            num_classes,
            net.embed_dim,
            net.hidden_dim,
            net.freeze_embeddings,
            vocab[pad_token],
            pooling,
        )
    model = TextClassifier(
        vocab_size=len(vocab),
        num_classes=num_classes,
        embed_dim=net.embed_dim,
        hidden_dim=net.hidden_dim,
        freeze_embeddings=net.freeze_embeddings,
        padding_idx=vocab[pad_token],
        **pooling,
    )
    if glove_path:
        load_glove(model.embedding.weight, vocab, glove_path)
    return model


def _from_pretrained(
    pretrained: str | Path,
    vocab: dict[str, int],
    num_classes: int,
    embed_dim: int,
    hidden_dim: int,
    freeze_embeddings: bool,
    padding_idx: int,
    pooling: dict,
) -> TextClassifier:
    path, state = read_text_classifier_weights(pretrained)
    rows, saved_embed_dim = state["embedding.weight"].shape
    saved_hidden_dim, saved_classes = state["fc1.weight"].shape[0], state["fc2.weight"].shape[0]
    if rows != len(vocab):
        raise ValueError(
            f"{path} has a {rows}-word vocabulary but the tokenizer has {len(vocab)}; "
            f"set model.tokenizer.vocab_path to the pretrained run folder"
        )
    if (saved_embed_dim, saved_hidden_dim) != (embed_dim, hidden_dim):
        raise ValueError(
            f"{path} has embed_dim={saved_embed_dim}, hidden_dim={saved_hidden_dim} but the config asks for "
            f"{embed_dim}, {hidden_dim}; set model.net.embed_dim={saved_embed_dim} model.net.hidden_dim={saved_hidden_dim}"
        )
    model = TextClassifier(len(vocab), saved_classes, embed_dim, hidden_dim, freeze_embeddings, padding_idx, **pooling)
    model.load_state_dict(state)
    if saved_classes != num_classes:
        model.fc2 = nn.Linear(hidden_dim, num_classes)
        log.info("pretrained %s: new %d-class head replaces the %d-class one", path, num_classes, saved_classes)
    return model
