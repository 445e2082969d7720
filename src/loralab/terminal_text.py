"""Strings from files someone handed you, made safe to print: a label name or a path holding an
escape sequence must not move the cursor, recolour or retitle the terminal, or hide text behind a
right-to-left mark."""

from __future__ import annotations

import unicodedata


def _visible(char: str) -> str:
    if char == " " or not unicodedata.category(char).startswith(("C", "Z")):
        return char
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def escaped(value: object) -> str:
    """``str(value)`` with control, format, separator and unassigned characters written as escapes
    (``\\x1b``, ``\\u202e``); plain text, spaces included, is unchanged."""
    text = str(value)
    if text.isprintable():
        return text
    return "".join(_visible(char) for char in text)
