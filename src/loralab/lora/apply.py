"""The ``model.lora`` config node: turn a built model into a LoRA model in one call."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import nn

from loralab.lora.config import LoraSettings, as_lora_settings
from loralab.lora.inject import inject_lora, mark_only_lora_as_trainable


def apply_lora(
    model: nn.Module, settings: LoraSettings | str | Sequence[str] | None = None, **config_keys: Any
) -> nn.Module:
    """Inject LoRA, then train only the adapters, ``modules_to_save`` and, when
    ``freeze_embeddings`` is false, every ``nn.Embedding`` of the model.

    ``settings`` is a :class:`LoraSettings`, or the ``model.lora`` config keys that Hydra passes
    (``target_modules``, ``rank``, ``alpha``, ...).
    """
    settings = as_lora_settings(settings, **config_keys)
    inject_lora(model, settings)
    mark_only_lora_as_trainable(model, modules_to_save=list(settings.modules_to_save))
    if not settings.freeze_embeddings:
        for module in model.modules():
            if isinstance(module, nn.Embedding):
                module.weight.requires_grad = True
    return model
