"""Parameter counts, as PEFT's ``print_trainable_parameters`` reports them."""

from __future__ import annotations

from torch import nn


def count_parameters(model: nn.Module) -> dict[str, int | float]:
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {
        "trainable_params": trainable,
        "total_params": total,
        "trainable_percent": 100.0 * trainable / max(total, 1),
    }
