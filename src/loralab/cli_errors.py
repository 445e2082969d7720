"""Command-line errors as one line that names the problem and the fix, not a traceback wall."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TypeVar

from omegaconf.errors import MissingMandatoryValue

T = TypeVar("T")

# What bad input raises: a missing file or folder, a value that does not fit, a damaged file,
# a required config value (???) left unset.
USER_ERRORS = (FileNotFoundError, ValueError, KeyError, MissingMandatoryValue)


def first_line(error: BaseException) -> str:
    """An error's message cut to its first line (libraries append context lines and tracebacks)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def run_cli(main: Callable[[], T]) -> T:
    """Call ``main``; a user error prints ``error: <message>`` and exits 1 (set
    ``HYDRA_FULL_ERROR=1`` to see the traceback instead)."""
    try:
        return main()
    except USER_ERRORS as error:
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        message = str(error).strip('"') if isinstance(error, KeyError) else str(error)
        if isinstance(error, MissingMandatoryValue):
            message = first_line(error)
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(1) from None
