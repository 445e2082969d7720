"""Hydra command-line override strings (``+a.b=1``, ``~key``, ``data=imdb``): their key and value.

A bottom-level module: the entry points, training, sweeps and tools read override strings, and none
of them should import another layer for it."""

from __future__ import annotations


def override_key(override: str) -> str:
    """The config key a command-line override sets (``+a.b=1`` -> ``a.b``)."""
    return override.split("=", 1)[0].lstrip("+~")


def override_value(override: str) -> str:
    """The value a command-line override sets (``a.b=1`` -> ``1``); empty for ``~key`` without one."""
    return override.split("=", 1)[1] if "=" in override else ""


def group_removals(overrides: list[str], groups: set[str]) -> list[str]:
    """``logger=null`` as Hydra's ``~logger`` for each config group in ``groups`` (Hydra itself
    refuses null as a group's option with a traceback); every other override unchanged."""
    return [
        f"~{override_key(o)}" if "=" in o and override_key(o) in groups and override_value(o) == "null" else o
        for o in overrides
    ]
