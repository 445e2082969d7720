"""Adapter files: only the trained tensors, and a config that ties them to their exact base.

``adapter/adapter_model.safetensors`` holds every tensor that trained (LoRA factors, the new head,
anything unfrozen) and every adapter tensor (LoRA-FA's frozen A), for the unmodified base: a pissa
or olora adapter is saved converted (``lora/plain_adapter.py``), ``converted_from_init`` naming
the init it trained from. ``adapter/adapter_config.json`` uses PEFT's key names where PEFT has one,
and names the base and vocabulary by paths relative to the run folder (the adapter folder's parent).
"""

from __future__ import annotations

from pathlib import Path

from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from loralab.atomic_files import atomic_write, atomic_write_json
from loralab.lora import LoraSettings, adapter_config, adapter_tensors, lora_layers, plain_settings
from loralab.runs.base_reference import file_reference

ADAPTER_WEIGHTS = "adapter_model.safetensors"
ADAPTER_CONFIG = "adapter_config.json"


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
    tensors = adapter_tensors(model)
    layer = next((layer for _, layer in lora_layers(model)), None)
    config = {
        "peft_type": "LORA",
        "library": "loralab",
        **adapter_config(plain_settings(settings)),
        "converted_from_init": settings.init if plain_settings(settings) is not settings else None,
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
