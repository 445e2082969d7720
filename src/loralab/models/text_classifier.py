"""The lab's small classifier: embedding, mean pooling, ``fc1`` + ReLU, ``fc2``."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class TextClassifier(nn.Module):
    """Bag-of-embeddings classifier.

    The submodule names ``embedding``, ``fc1`` and ``fc2`` are part of the interface: LoRA targets
    and saved adapters refer to them. Unlike the lab, the mean is taken over real tokens only, so
    a short review in a batch of long ones is not diluted by padding.
    """

    def __init__(
        self,
        vocab_size: int,
        num_classes: int,
        embed_dim: int = 100,
        hidden_dim: int = 128,
        freeze_embeddings: bool = False,
        padding_idx: int = 0,
        word_dropout: float = 0.0,
        count_each_word_once: bool = False,
    ) -> None:
        super().__init__()
        self.word_dropout = word_dropout
        self.count_each_word_once = count_each_word_once
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=padding_idx)
        self.embedding.weight.requires_grad = not freeze_embeddings
        self.fc1 = nn.Linear(embed_dim, hidden_dim)
        self.fc2 = nn.Linear(hidden_dim, num_classes)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        return self.fc2(torch.relu(self.fc1(self.mean_embedding(input_ids, attention_mask))))

    def mean_embedding(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        """The masked mean of the token embeddings, as one ``embedding_bag`` per batch: the
        batch x length x dim tensor of a plain lookup is never built (docs/performance.md, levers)."""
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        mask = attention_mask.to(next(self.parameters()).dtype)
        if self.count_each_word_once:  # a set of words, not a bag: "bad bad bad" weighs as "bad"
            mask = mask * first_occurrences(input_ids).to(mask.dtype)
        if self.training and self.word_dropout > 0:  # drop whole words: the mean must not lean on a few
            mask = mask * (torch.rand(mask.shape, device=mask.device) >= self.word_dropout)
        token_weights = mask / mask.sum(dim=1, keepdim=True).clamp(min=1.0)
        weighted_bag = getattr(self.embedding, "weighted_bag", None)  # LoRAEmbedding adds its update
        if weighted_bag is not None:
            return weighted_bag(input_ids, token_weights)
        if type(self.embedding) is not nn.Embedding:  # another wrapper (PEFT's LoRA): only its forward knows it
            return (self.embedding(input_ids) * token_weights.unsqueeze(-1)).sum(dim=1)
        return F.embedding_bag(input_ids, self.embedding.weight, mode="sum", per_sample_weights=token_weights)


def first_occurrences(input_ids: torch.Tensor) -> torch.Tensor:
    """True where a row's token id has not occurred earlier in that row."""
    sorted_ids, order = input_ids.sort(dim=1, stable=True)
    repeated = torch.zeros_like(input_ids, dtype=torch.bool)
    repeated[:, 1:] = sorted_ids[:, 1:] == sorted_ids[:, :-1]
    return torch.empty_like(repeated).scatter_(1, order, ~repeated)
