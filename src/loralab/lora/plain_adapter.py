"""An adapter file that applies to the unmodified base, whatever the init.

pissa and olora move ``s B0 A0`` out of the base, so the trained factors only fit the residual.
As PEFT does at save time (``path_initial_model_for_weight_conversion``), the file holds instead
``A' = [A | A0]``, ``B' = [B ; -B0]``: ``s B' A' = s (B A - B0 A0)``, the whole change to the
unmodified base, a plain (default-init) adapter of rank 2r with the same scaling. A DoRA magnitude
carries over unchanged: it scales the same adapted weight. A PEFT model's initial factors are
kept on it (:func:`keep_initial_factors`) and its saved tensors converted the same way
(:func:`convert_peft_tensors`).
"""

from __future__ import annotations

import dataclasses
import math

import torch
from torch import nn

from loralab.lora.inject import adapter_parameters, lora_layers
from loralab.settings.lora import BASE_CHANGING_INITS, LoraSettings

# Where a PEFT model keeps its initial factors (saved names, CPU copies), for converting at save time.
INITIAL_FACTORS = "loralab_initial_factors"
# PEFT's saved names of A and B (r first in A, r last in B, for Linear and Embedding alike).
PEFT_A = ("lora_A.weight", "lora_embedding_A")
PEFT_B = ("lora_B.weight", "lora_embedding_B")

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


def keep_initial_factors(peft_model: nn.Module, settings: LoraSettings) -> None:
    """Keep a copy of a PEFT model's A and B as a pissa or olora init left them (PEFT gives an
    embedding its default init, A zero, whatever the init: its copy converts to a no-op)."""
    if settings.init not in BASE_CHANGING_INITS:
        return
    from peft.utils import get_peft_model_state_dict

    state = get_peft_model_state_dict(peft_model)
    initial = {name: t.detach().cpu().clone() for name, t in state.items() if name.endswith(PEFT_A + PEFT_B)}
    setattr(peft_model, INITIAL_FACTORS, initial)


def convert_peft_tensors(tensors: dict[str, torch.Tensor], initial: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A PEFT adapter's saved tensors for the unmodified base: ``[A ; A0]`` and ``[B | -B0]``."""
    converted = dict(tensors)
    for name, start in initial.items():
        trained = tensors[name]
        start = start.to(trained.device, trained.dtype)
        pair = [trained, start] if name.endswith(PEFT_A) else [trained, -start]
        converted[name] = torch.cat(pair, dim=0 if name.endswith(PEFT_A) else 1).contiguous()
    return converted


def convert_peft_config(config: dict) -> dict:
    """PEFT's ``adapter_config.json`` of the converted adapter (as PEFT's own conversion writes it,
    with rsLoRA's patterns scaled by sqrt(2) as its alpha is)."""
    factor = ALPHA_FACTOR["rslora" if config.get("use_rslora") else "standard"]
    return {
        **config,
        "init_lora_weights": True,
        "r": 2 * config["r"],
        "lora_alpha": config["lora_alpha"] * factor,
        "rank_pattern": {name: 2 * rank for name, rank in (config.get("rank_pattern") or {}).items()},
        "alpha_pattern": {name: alpha * factor for name, alpha in (config.get("alpha_pattern") or {}).items()},
    }
