"""The ``model.lora`` config node: turn a built model into a LoRA model in one call."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from torch import nn

from loralab.lora.inject import inject_lora, mark_only_lora_as_trainable


def apply_lora(
    model: nn.Module,
    target_modules: str | Sequence[str],
    rank: int,
    alpha: float,
    dropout: float = 0.0,
    scaling: str = "standard",
    modules_to_save: Sequence[str] = (),
    freeze_embeddings: bool = True,
    rank_pattern: Mapping[str, int] | None = None,
    alpha_pattern: Mapping[str, float] | None = None,
) -> nn.Module:
    """Inject LoRA, then train only the adapters, ``modules_to_save`` and, when
    ``freeze_embeddings`` is false, every ``nn.Embedding`` of the model."""
    inject_lora(
        model,
        target_modules,
        rank=rank,
        alpha=alpha,
        dropout=dropout,
        scaling=scaling,
        rank_pattern=rank_pattern,
        alpha_pattern=alpha_pattern,
    )
    mark_only_lora_as_trainable(model, modules_to_save=list(modules_to_save))
    if not freeze_embeddings:
        for module in model.modules():
            if isinstance(module, nn.Embedding):
                module.weight.requires_grad = True
    return model
