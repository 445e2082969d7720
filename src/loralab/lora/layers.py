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

DoRA (Liu et al. 2024, https://arxiv.org/abs/2402.09353) splits the adapted weight into a learnt
magnitude ``m`` per output feature and a direction: ``W' = m * (W0 + s B A) / ||W0 + s B A||``, the
norm taken per output feature and treated as a constant in the backward pass (the paper's
section 4.3, as PEFT does). ``m`` starts at that norm, so an untrained DoRA adapter is the identity too.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from loralab.lora.initialisation import olora_factors, pissa_factors

BASE_INITS = {"pissa": pissa_factors, "olora": olora_factors}


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
    """What every LoRA layer shares: the wrapped ``base``, ``scaling``, the variant and the init,
    explicit merge/unmerge.

    Subclasses create ``lora_A`` and ``lora_B`` (default init), then call :meth:`_finish_init`; they
    define ``_delta(A, B)`` (the update in the base weight's layout) and ``forward``.
    ``transposed_in_peft``: whether PEFT's view of the base weight (out x in) is its transpose.
    """

    transposed_in_peft = False

    def __init__(
        self, base: nn.Module, rank: int, alpha: float, scaling: str = "standard", variant: str = "lora"
    ) -> None:
        super().__init__()
        self.base = base
        self.rank = rank
        self.alpha = alpha
        self.scaling_rule = scaling
        self.scaling = lora_scaling(alpha, rank, scaling)
        self.variant = variant
        self.init = "default"
        self.merged = False

    def _finish_init(self, init: str) -> None:
        """Apply ``init`` (A and B at their default already), then DoRA's magnitude from the weight
        the adapter starts on."""
        self.init = init
        if init == "gaussian":
            with torch.no_grad():
                nn.init.normal_(self.lora_A, std=1 / self.rank)
                self.lora_B.zero_()
        elif init in BASE_INITS:
            A, B, residual = BASE_INITS[init](self._peft_layout(self.base.weight.detach()), self.rank, self.scaling)
            with torch.no_grad():
                self.lora_A.copy_(A.T)
                self.lora_B.copy_(B.T)
                self.base.weight.copy_(self._peft_layout(residual))
            # What the base lost, kept to rebuild it and to convert the adapter (lora/plain_adapter.py).
            self.register_buffer("initial_A", self.lora_A.detach().clone(), persistent=False)
            self.register_buffer("initial_B", self.lora_B.detach().clone(), persistent=False)
        if self.variant == "dora":
            with torch.no_grad():
                magnitude = self.weight_norm(self.delta_weight())
            self.lora_magnitude = nn.Parameter(magnitude)

    def _peft_layout(self, weight: torch.Tensor) -> torch.Tensor:
        return weight.T if self.transposed_in_peft else weight

    def _per_output(self, vector: torch.Tensor) -> torch.Tensor:
        """A vector over output features, shaped to multiply the base weight."""
        return vector.view(1, -1) if self.transposed_in_peft else vector.view(-1, 1)

    def _delta(self, A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def delta_weight(self) -> torch.Tensor:
        """The low-rank update ``s B A`` in the base weight's layout."""
        return self._delta(self.lora_A, self.lora_B)

    def original_weight(self) -> torch.Tensor:
        """The base weight before a pissa or olora init took ``s B0 A0`` out of it (else the base weight)."""
        weight = self.base.weight.detach()
        if self.merged:
            raise ValueError("unmerge the adapter before reading its base weight")
        if hasattr(self, "initial_A"):
            return weight + self._delta(self.initial_A, self.initial_B).to(weight.dtype)
        return weight

    def weight_norm(self, delta: torch.Tensor) -> torch.Tensor:
        """DoRA's norm of ``W0 + delta`` per output feature (PEFT's ``get_weight_norm``)."""
        # Over the base layout's own axis: the norm of a transposed view runs far slower.
        return torch.linalg.norm(self.base.weight + delta, dim=0 if self.transposed_in_peft else 1)

    def dora_scale(self) -> torch.Tensor:
        """``m / ||W0 + s B A||`` per output feature, the norm a constant for the backward pass."""
        with torch.no_grad():
            norm = self.weight_norm(self.delta_weight())
        return self.lora_magnitude / norm

    @torch.no_grad()
    def merge(self) -> None:
        """Fold the update into the base weight: same outputs, no adapter cost at inference."""
        if self.merged:
            return
        delta = self.delta_weight()
        if self.variant == "dora":
            self._merge_norm = self.weight_norm(delta)
            factor = self._per_output(self.lora_magnitude / self._merge_norm)
            self.base.weight.copy_(factor * (self.base.weight + delta))
        else:
            self.base.weight += delta
        self.merged = True

    @torch.no_grad()
    def unmerge(self) -> None:
        """Take the update back out of the base weight, so the adapter can train again."""
        if not self.merged:
            return
        delta = self.delta_weight()
        if self.variant == "dora":
            factor = self._per_output(self.lora_magnitude / self._merge_norm)
            self.base.weight.copy_(self.base.weight / factor - delta)
        else:
            self.base.weight -= delta
        self.merged = False

    def extra_repr(self) -> str:
        return (
            f"rank={self.rank}, alpha={self.alpha}, scaling={self.scaling:g} ({self.scaling_rule}), "
            f"variant={self.variant}, init={self.init}, merged={self.merged}"
        )


class LoRALinear(LoRALayer):
    """An ``nn.Linear`` with a trainable low-rank update; the wrapped layer stays as it is (but for
    a pissa or olora init, which moves ``s B0 A0`` out of it).

    Args:
        base: the pretrained layer (kept as ``self.base``; freezing it is the caller's choice).
        rank: ``r``, the inner dimension of ``A`` (in x r) and ``B`` (r x out).
        alpha: strength of the update; see :func:`lora_scaling`.
        dropout: dropout on the adapter's input only (the base path sees ``x`` unchanged).
        scaling: the rule that turns ``alpha`` and ``rank`` into ``self.scaling``.
        variant: ``lora`` or ``dora``.
        init: ``default`` (A as a ``Linear(in, r)`` weight, B zero: loralib's and PEFT's),
            ``gaussian``, ``pissa`` or ``olora``.
    """

    def __init__(
        self,
        base: nn.Linear,
        rank: int,
        alpha: float,
        dropout: float = 0.0,
        scaling: str = "standard",
        variant: str = "lora",
        init: str = "default",
    ) -> None:
        super().__init__(base, rank, alpha, scaling, variant)
        factory = {"device": base.weight.device, "dtype": base.weight.dtype}
        self.lora_A = nn.Parameter(torch.empty(base.in_features, rank, **factory))
        self.lora_B = nn.Parameter(torch.zeros(rank, base.out_features, **factory))
        nn.init.kaiming_uniform_(self.lora_A.T, a=math.sqrt(5))
        self.lora_dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self._finish_init(init)

    def _delta(self, A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
        return (A @ B).T * self.scaling

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.base(x)
        if self.merged:
            return out
        dropped = self.lora_dropout(x)
        update = (dropped @ self.lora_A @ self.lora_B) * self.scaling
        if self.variant == "lora":
            return out + update
        scale = self.dora_scale()
        # PEFT's DoRA: the base term is rescaled on the same (dropped-out) input as the update.
        if isinstance(self.lora_dropout, nn.Identity) or not self.training:
            base_term = out if self.base.bias is None else out - self.base.bias
        else:
            base_term = dropped @ self.base.weight.T
        return out + (scale - 1) * base_term + scale * update
