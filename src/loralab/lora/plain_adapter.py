"""An adapter file that applies to the unmodified base, whatever the init.

pissa and olora move ``s B0 A0`` out of the base, so the trained factors only fit the residual.
As PEFT does at save time (``path_initial_model_for_weight_conversion``), the file holds instead
``A' = [A | A0]``, ``B' = [B ; -B0]``: ``s B' A' = s (B A - B0 A0)``, the whole change to the
unmodified base, a plain (default-init) adapter of rank 2r with the same scaling. A DoRA magnitude
carries over unchanged: it scales the same adapted weight.
"""

from __future__ import annotations

import dataclasses
import math

import torch
from torch import nn

from loralab.lora.inject import adapter_parameters, lora_layers
from loralab.settings.lora import BASE_CHANGING_INITS, LoraSettings

# alpha' / alpha such that the scaling of rank 2r equals that of rank r under each rule.
ALPHA_FACTOR = {"standard": 2.0, "rslora": math.sqrt(2), "alpha": 1.0}


def plain_settings(settings: LoraSettings) -> LoraSettings:
    """The settings that rebuild the saved adapter on the unmodified base: ``settings`` itself, or
    for a pissa or olora init, rank 2r with the same scaling and the default init."""
    if settings.init not in BASE_CHANGING_INITS:
        return settings
    factor = ALPHA_FACTOR[settings.scaling]
    return dataclasses.replace(
        settings,
        init="default",
        rank=2 * settings.rank,
        alpha=settings.alpha * factor,
        rank_pattern={name: 2 * rank for name, rank in settings.rank_pattern.items()},
        alpha_pattern={name: alpha * factor for name, alpha in settings.alpha_pattern.items()},
    )


def adapter_tensors(model: nn.Module) -> dict[str, torch.Tensor]:
    """What an adapter file holds, under the model's own names: every tensor that trains, every
    adapter tensor (LoRA-FA's frozen A too), and a pissa or olora layer's factors converted."""
    tensors = {name: param.detach() for name, param in model.named_parameters() if param.requires_grad}
    for name, layer in lora_layers(model):
        tensors.update({f"{name}.{key}": param.detach() for key, param in adapter_parameters(layer).items()})
        if hasattr(layer, "initial_A"):
            tensors[f"{name}.lora_A"] = torch.cat([layer.lora_A.detach(), layer.initial_A], dim=1)
            tensors[f"{name}.lora_B"] = torch.cat([layer.lora_B.detach(), -layer.initial_B], dim=0)
    return {name: tensor.contiguous() for name, tensor in tensors.items()}
