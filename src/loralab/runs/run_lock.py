"""A run folder belongs to one writer at a time: ``.lock`` holds the writer's pid and host.

Two runs that would share a folder (the same ``hydra.run.dir``, or a ``resume=`` of a run that is
still going) would overwrite each other's checkpoints and restore each other's weights; the second
is refused in one line instead. The lock of a process that has died (killed, machine rebooted) is
taken over with a warning.
"""

from __future__ import annotations

import atexit
import logging
import os
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from loralab.files.safe_paths import RunFolderError, read_capped
from loralab.terminal_text import escaped

log = logging.getLogger(__name__)

LOCK_FILE = ".lock"
LOCK_LIMIT = 1024  # "<pid> <host>"
# Set to a non-zero rank in the extra processes of a multi-device run, which share rank 0's folder.
_RANK_VARIABLES = ("LOCAL_RANK", "NODE_RANK", "RANK", "SLURM_PROCID")


class RunFolderInUse(ValueError):
    """Another live process writes into this run folder."""


def is_secondary_process() -> bool:
    return any(os.environ.get(name, "0") not in ("", "0") for name in _RANK_VARIABLES)


def _owner(lock: Path) -> tuple[int, str] | None:
    """The pid and host in ``lock``; None when it is gone or not a lock's content. A fifo, device
    or large file there is refused (``RunFolderError``): reading it could hang or fill memory."""
    if lock.is_symlink():
        raise RunFolderError(f"{escaped(lock)} is a link; a run folder's lock is a file of its own (delete the link)")
    try:
        pid, host = read_capped(lock, LOCK_LIMIT).decode("utf-8").split()
        return int(pid), host
    except FileNotFoundError:
        return None
    except (UnicodeDecodeError, ValueError) as error:
        if isinstance(error, RunFolderError):
            raise
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def _create(lock: Path) -> bool:
    """Make ``lock`` with our pid in one step (a hard link fails if it exists): no one reads it half-written."""
    fd, tmp = tempfile.mkstemp(dir=lock.parent, prefix=".lock.", suffix=".tmp")
    try:
        os.write(fd, f"{os.getpid()} {socket.gethostname()}\n".encode())
        os.close(fd)
        os.link(tmp, lock)
        return True
    except FileExistsError:
        return False
    finally:
        Path(tmp).unlink(missing_ok=True)


def acquire_run_lock(folder: str | Path) -> bool:
    """Lock ``folder`` for this process; False when it already held it. Raises ``RunFolderInUse``
    when a live process holds it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / LOCK_FILE
    for _ in range(3):
        if _create(lock):
            atexit.register(release_run_lock, folder)
            return True
        owner = _owner(lock)
        here = socket.gethostname()
        if owner == (os.getpid(), here):
            return False
        if owner is not None and (owner[1] != here or _alive(owner[0])):
            raise RunFolderInUse(
                f"the run folder {folder} is in use by process {owner[0]} on {owner[1]}; wait for it to end or "
                f"set hydra.run.dir=<another folder> (if no run is going on there, delete {lock})"
            )
        log.warning("taking over %s: its process %s has ended", lock, owner[0] if owner else "(unreadable)")
        lock.unlink(missing_ok=True)
    raise RunFolderInUse(f"cannot lock the run folder {folder}: {lock} keeps changing; is another run starting there?")


def release_run_lock(folder: str | Path) -> None:
    """Remove ``folder``'s lock if this process holds it."""
    lock = Path(folder) / LOCK_FILE
    if _owner(lock) == (os.getpid(), socket.gethostname()):
        lock.unlink(missing_ok=True)


@contextmanager
def run_folder_lock(folder: str | Path) -> Iterator[None]:
    """Hold ``folder``'s lock for the block (nothing for the extra processes of a multi-device run);
    a lock this process already held stays held."""
    acquired = False if is_secondary_process() else acquire_run_lock(folder)
    try:
        yield
    finally:
        if acquired:
            release_run_lock(folder)
