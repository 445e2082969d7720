"""A LoRA run's checkpoints without its frozen base: which tensors are frozen, one sha256 over them,
and the record a checkpoint keeps in their place.

The frozen base is what the run is built from (the backbone, a pretrained run, or the seed), so a
resumed run builds it again and only has to prove that it is the same: the sha256 covers every
frozen tensor's name, dtype, shape and bytes, in name order.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch
from torch import nn

FROZEN_BASE_KEY = "loralab_frozen_base"  # in a checkpoint: {"sha256", "path", "tensors"}


def frozen_keys(module: nn.Module) -> list[str]:
    """The state_dict keys of every parameter that does not train (tied ones under each name)."""
    return sorted(name for name, param in module.named_parameters(remove_duplicate=False) if not param.requires_grad)


def frozen_sha256(module: nn.Module) -> str:
    """sha256 over the frozen tensors, the same for the same weights on any device."""
    state = module.state_dict()
    digest = hashlib.sha256()
    for key in frozen_keys(module):
        tensor = state[key].detach()
        digest.update(f"{key}|{tensor.dtype}|{tuple(tensor.shape)}\n".encode())
        digest.update(tensor.cpu().contiguous().reshape(-1).view(torch.uint8).numpy())
    return digest.hexdigest()


def frozen_base_record(module: nn.Module, sha256: str, path: str | None) -> dict:
    """What a checkpoint holds in place of the frozen tensors. ``path``: where the base was read
    from (relative to the run folder where possible, or a Hub id); None when it was initialised
    from the run's config and seed."""
    return {"sha256": sha256, "path": path, "tensors": len(frozen_keys(module))}


def check_frozen_base(record: dict, actual_sha256: str, checkpoint: str | Path | None) -> None:
    """Refuse a checkpoint trained on another base, in one line with both hashes."""
    if record["sha256"] == actual_sha256:
        return
    trained_on = record.get("path") or "initialised from its config and seed"
    raise ValueError(
        f"checkpoint {checkpoint or '(in memory)'} was trained on a frozen base with sha256 {record['sha256']} "
        f"({trained_on}), but this run's frozen base has sha256 {actual_sha256}; resume it with the model settings "
        f"and seed it was trained with (model.backbone, model.pretrained, model.lora, seed)"
    )
