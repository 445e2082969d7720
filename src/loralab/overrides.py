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
