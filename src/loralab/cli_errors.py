"""Command-line errors as one line that names the problem and the fix, not a traceback wall."""

from __future__ import annotations

import logging
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


def log_failure_to_files(message: str) -> None:
    """Write ``run failed: <message>`` to the log files the run has open (Hydra's ``train.log``),
    so a folder under outputs/ tells a failed run from a running one. File handlers only: the
    terminal shows the error once, as ``error: ...`` or a traceback."""
    logger = logging.getLogger(__name__)
    record = logger.makeRecord(logger.name, logging.ERROR, __file__, 0, "run failed: %s", (message,), None)
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            handler.handle(record)


def run_cli(main: Callable[[], T]) -> T:
    """Call ``main``; a user error prints ``error: <message>`` and exits 1 (set
    ``HYDRA_FULL_ERROR=1`` to see the traceback instead)."""
    try:
        return main()
    except (*USER_ERRORS, OSError) as error:
        if not is_user_error(error) or os.environ.get("HYDRA_FULL_ERROR") == "1":
            log_failure_to_files(
                f"{type(error).__name__}: {escaped(first_line(error))} (the traceback is on the terminal)"
            )
            raise
        message = str(error).strip('"') if isinstance(error, KeyError) else str(error)
        if isinstance(error, MissingMandatoryValue) or "\n" in message.strip():
            message = first_line(error)
        if isinstance(error, OSError) and error.errno in WRITE_ERRNOS:
            if not isinstance(error, WriteError):
                error = write_error(Path(error.filename or "a file of the run"), error)
            message = error.strerror
        message = escaped(message)  # it may quote a string from a handed-over file
        log_failure_to_files(message)
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(1) from None
    except Exception as error:  # a bug, not bad input: Hydra prints the traceback
        log_failure_to_files(f"{type(error).__name__}: {escaped(first_line(error))} (the traceback is on the terminal)")
        raise
