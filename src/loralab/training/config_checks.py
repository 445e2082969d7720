"""Checks on a composed config before any work starts."""

from __future__ import annotations

import re
from typing import Any

from omegaconf import DictConfig, OmegaConf

# ``key: ${loralab.required:key}``: a value a recipe needs from the command line, for a key that a
# config group declares with a default. ``???`` cannot say that: merged over a declared value, it
# leaves that value in place (OmegaConf), so the run would go on without it. The marker resolves to
# null, so Hydra's ``+key=<value>`` still finds the slot empty; ``check_required_keys`` refuses it.
REQUIRED_RESOLVER = "loralab.required"
_REQUIRED = re.compile(r"^\$\{loralab\.required:[^}]*\}$")


def _null(key: str) -> None:
    return None


def register_required_resolver() -> None:
    """Make ``${loralab.required:<key>}`` resolvable (as null; see above)."""
    if not OmegaConf.has_resolver(REQUIRED_RESOLVER):
        OmegaConf.register_new_resolver(REQUIRED_RESOLVER, _null)


def unset_required_keys(cfg: DictConfig) -> list[str]:
    """Keys whose value is still ``???`` or ``${loralab.required:...}``. Read from the unresolved
    values: once an interpolation such as ``vocab_path: ${model.pretrained}`` is resolved,
    OmegaConf blames the wrong key."""
    raw = OmegaConf.to_container(cfg, resolve=False, throw_on_missing=False)
    return list(_unset(raw, ""))


def _unset(value: Any, where: str):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _unset(item, f"{where}{key}.")
    elif value == "???" or (isinstance(value, str) and _REQUIRED.match(value)):
        yield where.rstrip(".")


def check_required_keys(cfg: DictConfig) -> None:
    unset = [key for key in unset_required_keys(cfg) if not key.startswith("hydra.")]
    if unset:
        raise ValueError(
            f"{', '.join(unset)} must be set (the config leaves it to the command line); add {unset[0]}=<value> to the command"
        )
