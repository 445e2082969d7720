"""The lab's small classifier: embedding, mean pooling, ``fc1`` + ReLU, ``fc2``."""

from __future__ import annotations

import torch
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
    ) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=padding_idx)
        self.embedding.weight.requires_grad = not freeze_embeddings
        self.fc1 = nn.Linear(embed_dim, hidden_dim)
        self.fc2 = nn.Linear(hidden_dim, num_classes)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        embedded = self.embedding(input_ids)
        if attention_mask is None:
            pooled = embedded.mean(dim=1)
        else:
            mask = attention_mask.unsqueeze(-1).to(embedded.dtype)
            pooled = (embedded * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
        return self.fc2(torch.relu(self.fc1(pooled)))
