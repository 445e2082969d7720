"""The one error a settings class raises: the key, the value and the fix, in one line."""

from __future__ import annotations

from typing import Any


class ConfigValueError(ValueError):
    """A config value of the right type but outside what its key allows."""

    def __init__(self, node: str, key: str, value: Any, allowed: str) -> None:
        self.node, self.key, self.value, self.allowed = node, key, value, allowed
        super().__init__(self.message(node))

    def message(self, node: str) -> str:
        """The same complaint with the node named as the reader knows it (a config path such as
        ``model.lora``, or a section of ``run_config.json``)."""
        name = f"{node}.{self.key}" if node else self.key
        return f"{name}={show(self.value)} is not allowed: {self.allowed}"


def show(value: Any) -> str:
    text = f"{value!r} ({type(value).__name__})" if isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def require(ok: bool, settings: Any, key: str, allowed: str, value: Any = None) -> None:
    """Raise :class:`ConfigValueError` for ``settings.<key>`` unless ``ok``."""
    if not ok:
        shown = getattr(settings, key) if value is None else value
        raise ConfigValueError(type(settings).config_key, key, shown, allowed)


def require_int(settings: Any, key: str, low: int, high: int | None = None, optional: bool = False) -> None:
    value = getattr(settings, key)
    if optional and value is None:
        return
    words = f"use an integer >= {low}" if high is None else f"use an integer from {low} to {high}"
    require(is_int(value) and value >= low and (high is None or value <= high), settings, key, words)


def require_fraction(settings: Any, key: str, lower_open: bool = False, upper_open: bool = True) -> None:
    value = getattr(settings, key)
    words = f"use a number in {'(' if lower_open else '['}0, 1{')' if upper_open else ']'}"
    ok = is_number(value) and (value > 0 if lower_open else value >= 0) and (value < 1 if upper_open else value <= 1)
    require(ok, settings, key, words)


def require_text(settings: Any, key: str, optional: bool = False) -> None:
    value = getattr(settings, key)
    if optional and value is None:
        return
    require(isinstance(value, str) and value.strip() != "", settings, key, "use a non-empty string")


def require_choice(settings: Any, key: str, choices: tuple) -> None:
    value = getattr(settings, key)
    ok = not isinstance(value, bool) and value in choices
    require(ok, settings, key, f"use one of {', '.join(map(str, choices))}")
