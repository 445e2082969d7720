"""Checks on a composed config before any work starts."""

from __future__ import annotations

import re

from omegaconf import DictConfig, OmegaConf

# ``key: ${loralab.required:key}``: a value a recipe needs from the command line, for a key that a
# config group declares with a default. ``???`` cannot say that: merged over a declared value, it
# leaves that value in place (OmegaConf), so the run would go on without it. The marker resolves to
# null, so Hydra's ``+key=<value>`` still finds the slot empty; ``check_required_keys`` refuses it.
REQUIRED_RESOLVER = "loralab.required"
_REQUIRED = re.compile(r"^\$\{loralab\.required:[^}]*\}$")


def _unset(key: str) -> None:
    return None


def register_required_resolver() -> None:
    """Make ``${loralab.required:<key>}`` resolvable (as null; see above)."""
    if not OmegaConf.has_resolver(REQUIRED_RESOLVER):
        OmegaConf.register_new_resolver(REQUIRED_RESOLVER, _unset)


def unset_required_keys(cfg: DictConfig, prefix: str = "") -> list[str]:
    """Keys whose value is still ``???`` or ``${loralab.required:...}``. Checked on the raw nodes:
    once an interpolation such as ``vocab_path: ${model.pretrained}`` is resolved, OmegaConf blames
    the wrong key."""
    unset = []
    for key in cfg:
        node = cfg._get_node(key)
        if node is None:
            continue
        if node._is_missing() or (node._is_interpolation() and _REQUIRED.match(str(node._value()))):
            unset.append(f"{prefix}{key}")
        elif isinstance(node, DictConfig) and not node._is_interpolation():
            unset += unset_required_keys(node, f"{prefix}{key}.")
    return unset


def check_required_keys(cfg: DictConfig) -> None:
    unset = [key for key in unset_required_keys(cfg) if not key.startswith("hydra.")]
    if unset:
        raise ValueError(
            f"{', '.join(unset)} must be set (the config leaves it to the command line); add {unset[0]}=<value> to the command"
        )
