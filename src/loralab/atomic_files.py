"""Write files so that a kill at any moment leaves either the old file or the new one, never half."""

from __future__ import annotations

import errno
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

_UMASK = os.umask(0)
os.umask(_UMASK)


# What a full disk, a quota or a folder without write permission raise.
WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG}


class WriteError(OSError):
    """A file could not be written (full disk, read-only folder); the old file, if any, is whole."""


def write_error(path: Path, error: OSError) -> WriteError:
    """``error`` as one line that names the file and the fix."""
    reason = error.strerror or str(error)
    if error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        fix = "free space on that disk, or set hydra.run.dir=<a folder on another disk>"
    else:
        fix = "make the folder writable, or set hydra.run.dir=<a writable folder>"
    return WriteError(error.errno, f"cannot write {path}: {reason}; {fix} (files written before are whole)")


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` on a temporary file beside ``path``, then rename it into place.
    A full disk or a folder that cannot be written raises ``WriteError`` and leaves no partial file."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as error:
        if isinstance(error, WriteError) or error.errno not in WRITE_ERRNOS:
            raise
        raise write_error(path, error) from error
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        tmp.chmod(0o666 & ~_UMASK)  # mkstemp makes 0600; give the file the permissions open() would
        os.replace(tmp, path)
    except OSError as error:
        if isinstance(error, WriteError) or error.errno not in WRITE_ERRNOS:
            raise
        raise write_error(path, error) from error
    finally:
        tmp.unlink(missing_ok=True)
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def atomic_write_json(path: str | Path, data: Any) -> Path:
    return atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")
