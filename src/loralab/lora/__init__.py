"""LoRA from scratch: layers, injection by module name, and trainable-parameter selection."""

from loralab.lora.apply import apply_lora
from loralab.lora.embedding import LoRAEmbedding
from loralab.lora.inject import (
    LORA_LAYER_TYPES,
    adapter_parameters,
    base_state_dict,
    inject_lora,
    lora_layers,
    mark_only_lora_as_trainable,
    merge_and_unload,
    merge_lora,
    unmerge_lora,
)
from loralab.lora.layers import LoRALayer, LoRALinear, lora_scaling
from loralab.lora.param_groups import freeze_lora_A, loraplus_groups
from loralab.lora.peft_format import adapter_config, peft_lora_config, to_peft_state_dict
from loralab.lora.plain_adapter import adapter_tensors, plain_settings
from loralab.lora.targets import resolve_presets
from loralab.settings.lora import SCALING_RULES, LoraSettings

__all__ = [
    "LORA_LAYER_TYPES",
    "LoRAEmbedding",
    "LoRALayer",
    "LoRALinear",
    "LoraSettings",
    "SCALING_RULES",
    "adapter_config",
    "adapter_parameters",
    "adapter_tensors",
    "freeze_lora_A",
    "loraplus_groups",
    "plain_settings",
    "resolve_presets",
    "apply_lora",
    "base_state_dict",
    "inject_lora",
    "lora_layers",
    "lora_scaling",
    "mark_only_lora_as_trainable",
    "peft_lora_config",
    "merge_and_unload",
    "merge_lora",
    "to_peft_state_dict",
    "unmerge_lora",
]
