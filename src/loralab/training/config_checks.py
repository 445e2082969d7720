"""Checks on a composed config before any work starts."""

from __future__ import annotations

from omegaconf import DictConfig


def unset_required_keys(cfg: DictConfig, prefix: str = "") -> list[str]:
    """Keys whose value is still ``???``. Checked on the raw nodes: once an interpolation such as
    ``vocab_path: ${model.pretrained}`` is resolved, OmegaConf blames the wrong key."""
    unset = []
    for key in cfg:
        node = cfg._get_node(key)
        if node is None or node._is_interpolation():
            continue
        if node._is_missing():
            unset.append(f"{prefix}{key}")
        elif isinstance(node, DictConfig):
            unset += unset_required_keys(node, f"{prefix}{key}.")
    return unset


def check_required_keys(cfg: DictConfig) -> None:
    unset = [key for key in unset_required_keys(cfg) if not key.startswith("hydra.")]
    if unset:
        raise ValueError(f"{', '.join(unset)} must be set (the config says ???); add {unset[0]}=<value> to the command")
