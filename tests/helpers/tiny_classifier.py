"""The TextClassifier and batch the from-scratch LoRA is compared with PEFT's on: small enough to
compare tensor by tensor, with padded rows of different lengths so the masked mean takes part."""

from __future__ import annotations

import torch

from loralab.models import TextClassifier

VOCAB_SIZE = 40


def tiny_text_classifier() -> TextClassifier:
    torch.manual_seed(0)
    return TextClassifier(vocab_size=VOCAB_SIZE, num_classes=3, embed_dim=12, hidden_dim=6)


def padded_batch() -> tuple[torch.Tensor, torch.Tensor]:
    """Five rows of 9, 7, 4, 2 and 1 tokens, padded with 0 to 9."""
    ids = torch.randint(1, VOCAB_SIZE, (5, 9), generator=torch.Generator().manual_seed(1))
    mask = torch.ones_like(ids)
    for row, length in enumerate([9, 7, 4, 2, 1]):
        ids[row, length:] = 0
        mask[row, length:] = 0
    return ids, mask
