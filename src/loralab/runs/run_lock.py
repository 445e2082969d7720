"""A run folder belongs to one writer at a time: ``.lock``, held with ``filelock`` (``flock``).

Two runs that would share a folder (the same ``hydra.run.dir``, or a ``resume=`` of a run that is
still going) would overwrite each other's checkpoints and restore each other's weights; the second
is refused in one line instead. The kernel drops the lock of a process that dies (killed, machine
rebooted), so its folder is free again; the file holds the writer's pid and host for the message.
"""

from __future__ import annotations

import atexit
import logging
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from loralab.files.safe_paths import RunFolderError, read_capped, regular_file
from loralab.terminal_text import escaped

log = logging.getLogger(__name__)

LOCK_FILE = ".lock"
LOCK_LIMIT = 1024  # "<pid> <host>"
# Set to a non-zero rank in the extra processes of a multi-device run, which share rank 0's folder.
_RANK_VARIABLES = ("LOCAL_RANK", "NODE_RANK", "RANK", "SLURM_PROCID")

_held: dict[Path, FileLock] = {}  # lock file -> this process's hold on it


class RunFolderInUse(ValueError):
    """Another live process writes into this run folder."""


def is_secondary_process() -> bool:
    return any(os.environ.get(name, "0") not in ("", "0") for name in _RANK_VARIABLES)


def _owner(lock: Path) -> str | None:
    """``<pid> on <host>`` as written in ``lock``; None when it is gone or holds no such line. A
    link, fifo, device or large file there is refused (``RunFolderError``): reading it could hang,
    fill memory or take the lock somewhere else."""
    if lock.is_symlink():
        raise RunFolderError(f"{escaped(lock)} is a link; a run folder's lock is a file of its own (delete the link)")
    if not os.path.lexists(lock):
        return None
    try:
        pid, host = read_capped(regular_file(lock), LOCK_LIMIT).decode("utf-8").split()
        return f"{int(pid)} on {escaped(host)}"
    except FileNotFoundError:
        return None
    except (UnicodeDecodeError, ValueError) as error:
        if isinstance(error, RunFolderError):
            raise
        return None


def acquire_run_lock(folder: str | Path) -> bool:
    """Lock ``folder`` for this process; False when it already held it. Raises ``RunFolderInUse``
    when a live process holds it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = (folder / LOCK_FILE).absolute()
    if path in _held:
        return False
    previous = _owner(path)
    lock = FileLock(path, timeout=0, thread_local=False)
    try:
        lock.acquire()
    except Timeout:
        holder = _owner(path)
        raise RunFolderInUse(
            f"the run folder {folder} is in use by {f'process {holder}' if holder else 'another process'}; wait for "
            "it to end or set hydra.run.dir=<another folder>"
        ) from None
    if previous is not None:
        log.warning("taking over %s: its process %s has ended", path, previous)
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_NOFOLLOW)  # the file filelock holds, never a link
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(f"{os.getpid()} {socket.gethostname()}\n")
    _held[path] = lock
    atexit.register(release_run_lock, folder)
    return True


def release_run_lock(folder: str | Path) -> None:
    """Release ``folder``'s lock if this process holds it, and remove the file. It is removed while
    still held: a process waiting on it finds it unlinked and locks a new one (filelock checks)."""
    path = (Path(folder) / LOCK_FILE).absolute()
    lock = _held.pop(path, None)
    if lock is not None:
        path.unlink(missing_ok=True)
        lock.release()


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
