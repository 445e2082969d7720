"""LoRA layers written from scratch (Hu et al. 2021, https://arxiv.org/abs/2106.09685).

A frozen linear layer ``W0`` learns a low-rank update ``B A`` instead of a full one::

          x ──────────────┬───────────────┐
          │               │               │
      W0 (frozen)   dropout ─> A (in x r) ─> B (r x out) ─> * scaling
          │                                               │
          └──────────────────── + ────────────────────────┘
                                 │
                                 y = W0 x + scaling * x A B

``B`` starts at zero, so an adapter that has not trained yet leaves the model unchanged.
Names follow loralib and PEFT (``lora_A``, ``lora_B``, ``scaling``, ``merged``) so that a user's
knowledge carries over. Merging is an explicit call (``merge()``), never a side effect of ``eval()``.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def lora_scaling(alpha: float, rank: int, rule: str = "standard") -> float:
    """The factor applied to ``x A B``.

    ``standard`` is ``alpha / r`` (the LoRA paper: it "reduces the need to retune hyperparameters
    when r changes"); ``rslora`` is ``alpha / sqrt(r)`` (Kalajdzievski 2023, stable at high rank);
    ``alpha`` is alpha itself (the course lab's rule). The values are checked where they are set
    (``settings/lora.py``).
    """
    if rule == "standard":
        return alpha / rank
    if rule == "rslora":
        return alpha / math.sqrt(rank)
    if rule == "alpha":
        return float(alpha)
    raise ValueError(f"unknown LoRA scaling rule {rule!r}; use standard, rslora or alpha")


class LoRALayer(nn.Module):
    """What every LoRA layer shares: the wrapped ``base``, ``scaling``, explicit merge/unmerge.

    Subclasses define ``lora_A``, ``lora_B``, ``delta_weight()`` (in the base weight's layout)
    and ``forward``.
    """

    def __init__(self, base: nn.Module, rank: int, alpha: float, scaling: str = "standard") -> None:
        super().__init__()
        self.base = base
        self.rank = rank
        self.alpha = alpha
        self.scaling_rule = scaling
        self.scaling = lora_scaling(alpha, rank, scaling)
        self.merged = False

    def delta_weight(self) -> torch.Tensor:
        raise NotImplementedError

    @torch.no_grad()
    def merge(self) -> None:
        """Fold the update into the base weight: same outputs, no adapter cost at inference."""
        if not self.merged:
            self.base.weight += self.delta_weight()
            self.merged = True

    @torch.no_grad()
    def unmerge(self) -> None:
        """Take the update back out of the base weight, so the adapter can train again."""
        if self.merged:
            self.base.weight -= self.delta_weight()
            self.merged = False

    def extra_repr(self) -> str:
        return f"rank={self.rank}, alpha={self.alpha}, scaling={self.scaling:g} ({self.scaling_rule}), merged={self.merged}"


class LoRALinear(LoRALayer):
    """An ``nn.Linear`` with a trainable low-rank update; the wrapped layer stays as it is.

    Args:
        base: the pretrained layer (kept as ``self.base``; freezing it is the caller's choice).
        rank: ``r``, the inner dimension of ``A`` (in x r) and ``B`` (r x out).
        alpha: strength of the update; see :func:`lora_scaling`.
        dropout: dropout on the adapter's input only (the base path sees ``x`` unchanged).
        scaling: the rule that turns ``alpha`` and ``rank`` into ``self.scaling``.
    """

    def __init__(
        self,
        base: nn.Linear,
        rank: int,
        alpha: float,
        dropout: float = 0.0,
        scaling: str = "standard",
    ) -> None:
        super().__init__(base, rank, alpha, scaling)
        factory = {"device": base.weight.device, "dtype": base.weight.dtype}
        self.lora_A = nn.Parameter(torch.empty(base.in_features, rank, **factory))
        self.lora_B = nn.Parameter(torch.zeros(rank, base.out_features, **factory))
        # PEFT's default: A like a Linear(in, r) weight, B zero.
        nn.init.kaiming_uniform_(self.lora_A.T, a=math.sqrt(5))
        self.lora_dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def delta_weight(self) -> torch.Tensor:
        """The update in ``nn.Linear`` layout (out x in)."""
        return (self.lora_A @ self.lora_B).T * self.scaling

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.base(x)
        if self.merged:
            return out
        return out + (self.lora_dropout(x) @ self.lora_A @ self.lora_B) * self.scaling
