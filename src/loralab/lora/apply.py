"""``model.lora`` on a TextClassifier: turn a built model into a LoRA model in one call."""

from __future__ import annotations

from torch import nn

from loralab.lora.inject import inject_lora, mark_only_lora_as_trainable
from loralab.settings.lora import LoraSettings


def apply_lora(model: nn.Module, settings: LoraSettings) -> nn.Module:
    """Inject LoRA, then train only the adapters, ``modules_to_save`` and, when
    ``freeze_embeddings`` is false, every ``nn.Embedding`` of the model."""
    inject_lora(model, settings)
    mark_only_lora_as_trainable(model, modules_to_save=list(settings.modules_to_save))
    if not settings.freeze_embeddings:
        for module in model.modules():
            if isinstance(module, nn.Embedding):
                module.weight.requires_grad = True
    return model
