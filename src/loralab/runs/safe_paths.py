"""Reading a run folder someone handed you: regular files only, none reached through a link that
leads out of the folder, and a base outside it only when its sha256 is the recorded one."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from loralab.runs.run_files import sha256_of


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


def regular_file(path: str | Path) -> Path:
    """``path`` when it is (or links to) a regular file: never a device or fifo that a read would hang on."""
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise FileNotFoundError(f"{path} does not exist; the run folder or its base is incomplete") from None
    if not stat.S_ISREG(mode):
        raise RunFolderError(f"{path} is {_kind(mode)}; a run folder reads regular files only")
    return path


def _inside(run_dir: Path, path: Path) -> Path:
    resolved = path.resolve()
    if not resolved.is_relative_to(run_dir.resolve()):
        raise RunFolderError(
            f"{path} leads out of the run folder (to {resolved}); a run folder's own files must live inside it"
        )
    return path


def folder_file(run_dir: str | Path, relative: str | Path) -> Path:
    """``run_dir/relative``: a regular file inside the run folder (a link may point only within it)."""
    run_dir = Path(run_dir)
    if Path(relative).is_absolute():
        raise RunFolderError(f"{relative} is an absolute path; a run folder names its own files relative to itself")
    path = run_dir / relative
    if not os.path.lexists(path):
        raise FileNotFoundError(f"{path} is missing; the run folder is incomplete (copy the whole folder)")
    return regular_file(_inside(run_dir, path))


def folder_tree(run_dir: str | Path, relative: str | Path) -> Path:
    """``run_dir/relative``: a folder inside the run folder holding only regular files and folders
    that stay inside it (a library reads whichever of its files it wants)."""
    run_dir = Path(run_dir)
    if Path(relative).is_absolute():
        raise RunFolderError(f"{relative} is an absolute path; a run folder names its own files relative to itself")
    folder = _inside(run_dir, run_dir / relative)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is missing; the run folder is incomplete (copy the whole folder)")
    for path in sorted(folder.rglob("*")):
        _inside(run_dir, path)
        if not path.is_dir():
            regular_file(path)
    return folder


def verify_sha256(path: Path, expected: str, record: str) -> None:
    """Refuse a base whose content is not the one the run recorded, naming both hashes."""
    actual = sha256_of(path)
    if actual != expected:
        raise RunFolderError(
            f"{path} has sha256 {actual}, but {record} records {expected}: it is not the base this run was trained on; "
            "pass model.pretrained=<the base it was trained on>"
        )
