"""LoRA for ``nn.Embedding``: each token gets a trainable r-dimensional code, mapped up by ``B``.

``E'[i] = E[i] + scaling * A[i] B`` with ``A`` (num_embeddings x r) and ``B`` (r x dim). At rank 4 a
30,000-word table gains 120,400 parameters instead of 3,000,000, yet every word can move. With DoRA
the magnitude is one value per embedding dimension, the norm taken over the vocabulary (PEFT's).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from loralab.lora.layers import LoRALayer


class LoRAEmbedding(LoRALayer):
    """An ``nn.Embedding`` with a low-rank update; ``B`` starts at zero so the table is unchanged.

    ``dropout`` is accepted for a uniform interface and ignored, as in PEFT: an index has no input
    features to drop. The padding row gets no update, so padding stays zero after a merge.
    ``init``: ``default`` (A standard normal), ``gaussian``, ``pissa`` or ``olora`` (on the table's
    transpose, PEFT's layout; PEFT itself starts embeddings with its default whatever the init).
    """

    transposed_in_peft = True

    def __init__(
        self,
        base: nn.Embedding,
        rank: int,
        alpha: float,
        dropout: float = 0.0,
        scaling: str = "standard",
        variant: str = "lora",
        init: str = "default",
    ) -> None:
        super().__init__(base, rank, alpha, scaling, variant)
        factory = {"device": base.weight.device, "dtype": base.weight.dtype}
        self.lora_A = nn.Parameter(torch.randn(base.num_embeddings, rank, **factory))
        self.lora_B = nn.Parameter(torch.zeros(rank, base.embedding_dim, **factory))
        self._finish_init(init)
        if base.padding_idx is not None:
            with torch.no_grad():
                self.lora_A[base.padding_idx].zero_()

    def _delta(self, A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
        return A @ B * self.scaling

    def dora_scale(self) -> torch.Tensor:
        """``m / ||E + s A B||`` per dimension, the norm (a constant for the backward pass) expanded
        as ``||E||^2 + 2s <E, A B> + s^2 ||A B||^2`` over the vocabulary: products of r-wide
        factors, never the vocabulary x dim update (``benchmarks/bench_variants.py``)."""
        with torch.no_grad():
            E, A, B, s = self.base.weight, self.lora_A, self.lora_B, self.scaling
            squares = (E * E).sum(0) + 2 * s * ((E.T @ A) * B.T).sum(1) + s * s * ((B.T @ (A.T @ A)) * B.T).sum(1)
            norm = squares.clamp_min(0).sqrt()
        return self.lora_magnitude / norm

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        out = self.base(input_ids)
        if self.merged:
            return out
        codes = F.embedding(input_ids, self.lora_A, padding_idx=self.base.padding_idx)
        return self._adapted(out, (codes @ self.lora_B) * self.scaling)

    def weighted_bag(self, input_ids: torch.Tensor, token_weights: torch.Tensor) -> torch.Tensor:
        """``sum_t token_weights[:, t] * E'[input_ids[:, t]]`` per row without building the
        batch x length x dim lookup: pooling is linear, so the update is pooled in rank-r space
        (and DoRA's per-dimension scale applies after pooling)."""
        pooled = F.embedding_bag(input_ids, self.base.weight, mode="sum", per_sample_weights=token_weights)
        if self.merged:
            return pooled
        codes = F.embedding_bag(input_ids, self.lora_A, mode="sum", per_sample_weights=token_weights)
        return self._adapted(pooled, (codes @ self.lora_B) * self.scaling)

    def _adapted(self, out: torch.Tensor, update: torch.Tensor) -> torch.Tensor:
        if self.variant == "lora":
            return out + update
        return self.dora_scale() * (out + update)
