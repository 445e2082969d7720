"""Command-line errors as one line that names the problem and the fix, not a traceback wall."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from omegaconf.errors import MissingMandatoryValue

from loralab.atomic_files import WRITE_ERRNOS, WriteError, write_error
from loralab.terminal_text import escaped

T = TypeVar("T")

# What bad input raises: a missing file or folder, a value that does not fit, a damaged file,
# a required config value (???) left unset. A full disk or a folder that cannot be written
# (an OSError of WRITE_ERRNOS) is one too.
USER_ERRORS = (FileNotFoundError, ValueError, KeyError, MissingMandatoryValue)


def is_user_error(error: BaseException) -> bool:
    if isinstance(error, USER_ERRORS):
        return True
    return isinstance(error, OSError) and error.errno in WRITE_ERRNOS


def first_line(error: BaseException) -> str:
    """An error's message cut to its first line (libraries append context lines and tracebacks)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def run_cli(main: Callable[[], T]) -> T:
    """Call ``main``; a user error prints ``error: <message>`` and exits 1 (set
    ``HYDRA_FULL_ERROR=1`` to see the traceback instead)."""
    try:
        return main()
    except (*USER_ERRORS, OSError) as error:
        if not is_user_error(error) or os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        message = str(error).strip('"') if isinstance(error, KeyError) else str(error)
        if isinstance(error, MissingMandatoryValue) or "\n" in message.strip():
            message = first_line(error)
        if isinstance(error, OSError) and error.errno in WRITE_ERRNOS:
            if not isinstance(error, WriteError):
                error = write_error(Path(error.filename or "a file of the run"), error)
            message = error.strerror
        print(f"error: {escaped(message)}", file=sys.stderr)  # it may quote a string from a handed-over file
        raise SystemExit(1) from None
