"""Adapter files: only the trained tensors, and a config that ties them to their exact base.

``adapter/adapter_model.safetensors`` holds every tensor that trained (LoRA factors, the new head,
anything unfrozen); ``adapter/adapter_config.json`` uses PEFT's key names where PEFT has one, and
names the base and vocabulary by paths relative to the run folder (the adapter folder's parent).
"""

from __future__ import annotations

from pathlib import Path

from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from loralab.atomic_files import atomic_write, atomic_write_json
from loralab.lora import LoraSettings, adapter_config, lora_layers
from loralab.runs.base_reference import file_reference

ADAPTER_WEIGHTS = "adapter_model.safetensors"
ADAPTER_CONFIG = "adapter_config.json"


def trainable_state_dict(model: nn.Module) -> dict:
    return {name: param.detach().contiguous() for name, param in model.named_parameters() if param.requires_grad}


def save_adapter(
    model: nn.Module,
    folder: str | Path,
    settings: LoraSettings,
    base_model_path: str | Path,
    vocab_file: str | Path,
) -> int:
    """Write the adapter of ``model`` into ``folder`` (``<run>/adapter``); returns the weights file's size in bytes."""
    folder = Path(folder)
    run_dir = folder.parent
    tensors = trainable_state_dict(model)
    layer = next((layer for _, layer in lora_layers(model)), None)
    config = {
        "peft_type": "LORA",
        "library": "loralab",
        **adapter_config(settings),
        "scaling": layer.scaling if layer is not None else None,
        "trained_tensors": sorted(tensors),
        "base_model": file_reference(base_model_path, run_dir),
        "vocab_file": file_reference(vocab_file, run_dir),
    }
    weights = atomic_write(folder / ADAPTER_WEIGHTS, lambda tmp: save_file(tensors, str(tmp)))
    atomic_write_json(folder / ADAPTER_CONFIG, config)
    return weights.stat().st_size


def load_adapter(model: nn.Module, folder: str | Path) -> None:
    """Load the trained tensors into ``model`` (already built with the same LoRA layers)."""
    path = Path(folder) / ADAPTER_WEIGHTS
    try:
        tensors = load_file(path)
    except (OSError, SafetensorError) as error:
        raise ValueError(f"cannot read adapter weights {path} ({error}); the file is damaged or missing") from None
    own = model.state_dict()
    unknown = sorted(set(tensors) - set(own))
    if unknown:
        raise ValueError(
            f"adapter {path} has tensors this model lacks ({', '.join(unknown[:5])}); it belongs to another model"
        )
    wrong = [k for k, v in tensors.items() if v.shape != own[k].shape]
    if wrong:
        raise ValueError(f"adapter {path}: shapes differ for {', '.join(wrong[:5])}; it belongs to another model")
    model.load_state_dict(tensors, strict=False)
