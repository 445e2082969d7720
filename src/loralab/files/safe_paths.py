"""Reading a run folder someone handed you: regular files only, none reached through a link that
leads out of the folder, none on the kernel's pseudo file systems or sparse, each read capped at a
size fixed in code."""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from loralab.terminal_text import escaped

SETTINGS_LIMIT = 4 << 20  # run_config.json, overrides.yaml, metrics.json, adapter_config.json: kilobytes
VOCABULARY_LIMIT = 256 << 20  # vocab.json, tokenizer.json: a few MB for the largest vocabularies
SPARSE_FROM = 1 << 20  # files this large must occupy at least half their size on disk


class RunFolderError(ValueError):
    """A run folder that cannot be opened safely or as it is; the message names the file and key."""


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a fifo"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _pseudo_devices() -> set[int]:
    return {os.stat(root).st_dev for root in ("/proc", "/sys", "/dev") if os.path.isdir(root)}


_PSEUDO_DEVICES = _pseudo_devices()


def check_regular(path: Path, info: os.stat_result) -> None:
    """Refuse what a read would hang on or never finish: devices, fifos, sockets, the kernel's
    ``/proc`` and ``/sys`` files (a "regular" file of no stated size), and sparse files (terabytes
    that take no disk, as a hash or a whole read would find out the slow way)."""
    if not stat.S_ISREG(info.st_mode):
        raise RunFolderError(f"{escaped(path)} is {_kind(info.st_mode)}; a run folder reads regular files only")
    if info.st_dev in _PSEUDO_DEVICES:
        raise RunFolderError(f"{escaped(path)} is a file of the kernel (/proc, /sys, /dev), not a file of a run")
    if info.st_size >= SPARSE_FROM and info.st_blocks * 512 < info.st_size // 2:
        raise RunFolderError(
            f"{escaped(path)} is a sparse file ({info.st_size} bytes stated, {info.st_blocks * 512} on disk); "
            "no file a run writes is sparse: the folder is damaged or crafted"
        )


def regular_file(path: str | Path) -> Path:
    """``path`` when it is (or links to) a regular file that can be read to its end."""
    path = Path(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"{escaped(path)} does not exist; the run folder or its base is incomplete") from None
    check_regular(path, info)
    return path


@contextmanager
def open_regular(path: Path) -> Iterator[tuple[int, os.stat_result]]:
    """A file descriptor of ``path`` and its stat, once checked to be a readable regular file: the
    check is on the open file, so a file swapped after it cannot slip in; a fifo does not block the open."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise FileNotFoundError(f"{escaped(path)} does not exist; the run folder is incomplete") from None
    try:
        info = os.fstat(fd)
        check_regular(path, info)
        yield fd, info
    finally:
        os.close(fd)


def read_capped(path: str | Path, limit: int) -> bytes:
    """The bytes of ``path``, a regular file of at most ``limit`` bytes, read to the cap and no further."""
    path = Path(path)
    with open_regular(path) as (fd, info):
        if info.st_size > limit:
            raise RunFolderError(
                f"{escaped(path)} has {info.st_size} bytes, more than the {limit} such a file may have; "
                "the folder is damaged or crafted"
            )
        chunks, total = [], 0
        while chunk := os.read(fd, min(1 << 20, limit + 1 - total)):
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise RunFolderError(f"{escaped(path)} holds more than {limit} bytes; the folder is damaged or crafted")
        return b"".join(chunks)


def read_text_capped(path: str | Path, limit: int = SETTINGS_LIMIT) -> str:
    try:
        return read_capped(path, limit).decode("utf-8")
    except UnicodeDecodeError:
        raise RunFolderError(f"{escaped(path)} is not UTF-8 text; the file is damaged") from None


def read_json_capped(path: str | Path, limit: int = SETTINGS_LIMIT) -> Any:
    """The JSON value in ``path`` (read as ``read_text_capped`` does); invalid or too deeply nested
    JSON is one line naming the file."""
    try:
        return json.loads(read_text_capped(path, limit))
    except (json.JSONDecodeError, RecursionError) as error:
        raise RunFolderError(f"{escaped(path)}: not readable JSON ({error}); the file is damaged") from None


def _inside(run_dir: Path, path: Path) -> Path:
    resolved = path.resolve()
    if not resolved.is_relative_to(run_dir.resolve()):
        raise RunFolderError(
            f"{escaped(path)} leads out of the run folder (to {escaped(resolved)}); a run folder's own files must "
            "live inside it"
        )
    return path


def _relative(relative: str | Path) -> None:
    if Path(relative).is_absolute():
        raise RunFolderError(
            f"{escaped(relative)} is an absolute path; a run folder names its own files relative to itself"
        )


def folder_file(run_dir: str | Path, relative: str | Path) -> Path:
    """``run_dir/relative``: a regular file inside the run folder (a link may point only within it)."""
    run_dir = Path(run_dir)
    _relative(relative)
    path = run_dir / relative
    if not os.path.lexists(path):
        raise FileNotFoundError(f"{escaped(path)} is missing; the run folder is incomplete (copy the whole folder)")
    return regular_file(_inside(run_dir, path))


def folder_tree(run_dir: str | Path, relative: str | Path, limit: int = 10_000) -> Path:
    """``run_dir/relative``: a folder inside the run folder holding only regular files and folders
    that stay inside it (a library reads whichever of its files it wants)."""
    run_dir = Path(run_dir)
    _relative(relative)
    folder = _inside(run_dir, run_dir / relative)
    if not folder.is_dir():
        raise FileNotFoundError(f"{escaped(folder)} is missing; the run folder is incomplete (copy the whole folder)")
    for count, path in enumerate(folder.rglob("*")):
        if count >= limit:
            raise RunFolderError(f"{escaped(folder)} holds more than {limit} entries; the folder is damaged or crafted")
        _inside(run_dir, path)
        if not path.is_dir():
            regular_file(path)
    return folder


PLAIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


def folder_output(run_dir: str | Path, folder: str, name: str) -> Path:
    """``run_dir/folder/name`` for a tool to write: plain names (no separator, no ``..``), the
    sub-folder a real folder of the run (made if missing, never a link), the file absent or
    regular. Nothing a folder holds can aim the write elsewhere."""
    for part in (folder, name):
        if not PLAIN_NAME.match(part) or ".." in part:
            raise RunFolderError(
                f"{escaped(part)!r} is not a plain file name (letters, digits, _ . -); it cannot name a file of "
                f"the run folder {escaped(run_dir)}"
            )
    target_dir = Path(run_dir) / folder
    if target_dir.is_symlink() or (os.path.lexists(target_dir) and not target_dir.is_dir()):
        raise RunFolderError(f"{escaped(target_dir)} is a link or a file; the run folder's {folder}/ must be a folder")
    target_dir.mkdir(exist_ok=True)
    target = target_dir / name
    if target.is_symlink() or (os.path.lexists(target) and not target.is_file()):
        raise RunFolderError(f"{escaped(target)} is a link or not a regular file; remove it, it is not the run's")
    return target
