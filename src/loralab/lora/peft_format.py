"""The lab's LoRA in PEFT's terms: a ``peft.LoraConfig`` from :class:`LoraSettings`, and PEFT's
tensor names and layout from the lab's adapter tensors.

The lab keeps its own layout and converts when writing PEFT's. The lab stores the factors so
that the update reads as in the paper's diagram with row vectors, ``x A B``:

=================  ==============================  =========================================
layer              lab (``<name>.lora_A/B``)       PEFT (saved names)
=================  ==============================  =========================================
``nn.Linear``      A: in x r, B: r x out           ``<name>.lora_A.weight``: r x in,
                                                   ``<name>.lora_B.weight``: out x r
``nn.Embedding``   A: num_embeddings x r,          ``<name>.lora_embedding_A``: r x num_embeddings,
                   B: r x dim                      ``<name>.lora_embedding_B``: dim x r
DoRA (either)      ``<name>.lora_magnitude``       ``<name>.lora_magnitude_vector`` (same vector)
=================  ==============================  =========================================

Every PEFT factor is the transpose of the lab's. Both compute ``scaling`` the same way
(``alpha / r``, or ``alpha / sqrt(r)`` with rsLoRA), and both ignore dropout on embeddings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from loralab.lora.embedding import LoRAEmbedding
from loralab.lora.inject import lora_layers
from loralab.lora.plain_adapter import adapter_tensors
from loralab.settings.lora import LoraSettings

# What a ``PeftModel`` puts before the wrapped model's own names, in its state dict and saved files.
PEFT_MODEL_PREFIX = "base_model.model."
PEFT_SCALING_RULES = ("standard", "rslora")
# model.lora.init as PEFT's init_lora_weights.
PEFT_INITS = {"default": True, "gaussian": "gaussian", "pissa": "pissa", "olora": "olora"}


def peft_lora_config(settings: LoraSettings, task_type: Any = None, extra_modules_to_save: Sequence[str] = ()):
    """The ``peft.LoraConfig`` for ``settings``; ``extra_modules_to_save`` joins ``modules_to_save``
    (e.g. a backbone's word embeddings when they train in full)."""
    from peft import LoraConfig

    if settings.scaling not in PEFT_SCALING_RULES:
        raise ValueError(
            f"PEFT LoRA supports scaling standard or rslora, not {settings.scaling!r}; set model.lora.scaling"
        )
    targets = settings.target_modules
    to_save = [*settings.modules_to_save, *extra_modules_to_save]
    return LoraConfig(
        task_type=task_type,
        r=settings.rank,
        lora_alpha=settings.alpha,
        lora_dropout=settings.dropout,
        target_modules=targets if isinstance(targets, str) else list(targets),
        modules_to_save=to_save or None,
        use_rslora=settings.scaling == "rslora",
        use_dora=settings.variant == "dora",
        init_lora_weights=PEFT_INITS[settings.init],
        rank_pattern=dict(settings.rank_pattern),
        alpha_pattern=dict(settings.alpha_pattern),
    )


def adapter_config(settings: LoraSettings) -> dict:
    """The settings under PEFT's ``adapter_config.json`` names, plus the two PEFT lacks
    (``scaling_rule``, ``freeze_embeddings``)."""
    targets = settings.target_modules
    return {
        "r": settings.rank,
        "lora_alpha": settings.alpha,
        "rank_pattern": dict(settings.rank_pattern),
        "alpha_pattern": dict(settings.alpha_pattern),
        "lora_dropout": settings.dropout,
        "scaling_rule": settings.scaling,
        "use_rslora": settings.scaling == "rslora",
        "use_dora": settings.variant == "dora",
        "init_lora_weights": PEFT_INITS[settings.init],
        "target_modules": targets if isinstance(targets, str) else list(targets),
        "modules_to_save": list(settings.modules_to_save),
        "freeze_embeddings": settings.freeze_embeddings,
    }


def to_peft_state_dict(
    model: nn.Module, adapter_state: Mapping[str, torch.Tensor] | None = None, prefix: str = PEFT_MODEL_PREFIX
) -> dict[str, torch.Tensor]:
    """The adapter tensors of ``model`` (a model with the lab's LoRA layers) under PEFT's saved
    names and in PEFT's layout: what ``adapter_model.safetensors`` holds and what
    ``peft.set_peft_model_state_dict`` loads.

    ``adapter_state`` defaults to what the model's adapter file holds
    (``lora/plain_adapter.py``: a pissa or olora adapter converted for the unmodified base); pass
    the model's own tensors to mirror it as it is, or a saved adapter's to convert a file. Tensors outside the LoRA layers (``modules_to_save``, e.g.
    ``fc2.weight``) keep their names under ``prefix``; PEFT must list their modules in
    ``modules_to_save``. ``prefix`` is a ``PeftModel``'s; pass ``""`` for a model that
    ``peft.inject_adapter_in_model`` changed in place. PEFT's in-memory names carry the adapter's
    name as well (``fc1.lora_A.default.weight``); the saved ones, returned here, do not.
    """
    layers = dict(lora_layers(model))
    if adapter_state is None:
        adapter_state = adapter_tensors(model)
    converted = {}
    for key, tensor in adapter_state.items():
        module_name, _, parameter = key.rpartition(".")
        layer = layers.get(module_name)
        if layer is None:
            wrapped = next((name for name in layers if key.startswith(f"{name}.base.")), None)
            if wrapped is not None:
                raise ValueError(
                    f"{key} is the base weight of LoRA layer {wrapped}; PEFT cannot train a LoRA target in full"
                )
            converted[prefix + key] = tensor
        elif parameter in ("lora_A", "lora_B"):
            factor = parameter[-1]
            name = f"lora_embedding_{factor}" if isinstance(layer, LoRAEmbedding) else f"lora_{factor}.weight"
            converted[f"{prefix}{module_name}.{name}"] = tensor.T.contiguous()
        elif parameter == "lora_magnitude":
            converted[f"{prefix}{module_name}.lora_magnitude_vector"] = tensor
        else:
            raise ValueError(f"{key}: LoRA layer {module_name} has no PEFT counterpart for {parameter!r}")
    return converted
