"""Builders that the ``model.net`` configs point at."""

from __future__ import annotations

from pathlib import Path

from loralab.models.glove import load_glove
from loralab.models.text_classifier import TextClassifier


def build_text_classifier(
    vocab: dict[str, int],
    num_classes: int,
    embed_dim: int = 100,
    hidden_dim: int = 128,
    freeze_embeddings: bool = False,
    glove_path: str | Path | None = None,
    pad_token: str = "<pad>",
) -> TextClassifier:
    """A TextClassifier sized for ``vocab`` (given by the data's tokenizer), optionally GloVe-initialised."""
    model = TextClassifier(
        vocab_size=len(vocab),
        num_classes=num_classes,
        embed_dim=embed_dim,
        hidden_dim=hidden_dim,
        freeze_embeddings=freeze_embeddings,
        padding_idx=vocab[pad_token],
    )
    if glove_path:
        load_glove(model.embedding.weight, vocab, glove_path)
    return model
