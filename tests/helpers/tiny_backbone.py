"""A tiny DistilBERT saved as a Hugging Face folder: the real ``from_pretrained`` path, offline."""

from __future__ import annotations

from pathlib import Path

import torch

from helpers.tiny_data import FILLER, NEGATIVE, POSITIVE, TOPICS


def save_tiny_distilbert(folder: Path) -> Path:
    """A 2-layer, 32-wide DistilBERT with a WordPiece tokenizer over the tiny data's words, saved
    as a Hugging Face folder: loading it exercises the real ``from_pretrained`` path."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import (
        DistilBertConfig,
        DistilBertForSequenceClassification,
        PreTrainedTokenizerFast,
    )

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    words = sorted(
        set(POSITIVE + NEGATIVE + FILLER + [w for topic in TOPICS for w in topic] + ["really", "yes", "!", ".", ","])
    )
    vocab = {token: i for i, token in enumerate(specials + words)}
    backend = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    backend.normalizer = normalizers.BertNormalizer(lowercase=True)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])]
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=64,
    )
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    config = DistilBertConfig(
        vocab_size=len(vocab), dim=32, n_layers=2, n_heads=2, hidden_dim=64, max_position_embeddings=64
    )
    DistilBertForSequenceClassification(config).save_pretrained(folder)
    return folder
