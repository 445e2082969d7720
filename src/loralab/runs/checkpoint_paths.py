"""Paths inside a checkpoint's callback state, held to the run's own checkpoint folder.

Lightning's ``ModelCheckpoint`` restores the best, k-th best and last checkpoint paths it finds in
``last.ckpt`` and later deletes "old" checkpoints by those paths. A checkpoint comes from a run
folder, which may have been handed over or edited: each path is replaced by the file of the same
name in the callback's own folder, if that is a regular file there, and dropped otherwise. A
folder that was moved resumes as it would have in place.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path, PurePath
from typing import Any

from loralab.terminal_text import escaped

log = logging.getLogger(__name__)

PATH_FIELDS = ("best_model_path", "kth_best_model_path", "last_model_path")
STATE_FIELDS = (*PATH_FIELDS, "dirpath", "best_k_models")


def _own_file(folder: Path | None, recorded: Any) -> str:
    """``folder/<name of recorded>`` when that is a regular file (not a link) in ``folder``, else ''."""
    if not isinstance(recorded, str) or not recorded or folder is None:
        return ""
    name = PurePath(recorded.replace("\\", "/")).name
    own = folder / name
    if name in ("", ".", "..") or own.is_symlink() or not own.is_file():
        log.warning(
            "ignoring the checkpoint path %s in the resumed checkpoint: not a file of %s", escaped(recorded), folder
        )
        return ""
    return str(own)


def confine_checkpoint_paths(checkpoint: dict, callbacks: Iterable[Any], resumed_from: str | None = None) -> None:
    """Rewrite, in place, every path field of every checkpoint callback's state in ``checkpoint``
    to a file of that callback's own ``dirpath`` (or nothing). A last checkpoint path that is
    dropped becomes ``resumed_from`` when that file is in the folder: the next ``last.ckpt`` then
    replaces it, as in a run that was never interrupted."""
    folders = {
        getattr(callback, "state_key", None): Path(callback.dirpath)
        for callback in callbacks
        if getattr(callback, "dirpath", None)
    }
    states = checkpoint.get("callbacks")
    if not isinstance(states, dict):
        return
    for key, state in states.items():
        if not isinstance(state, dict) or not any(field in state for field in STATE_FIELDS):
            continue
        folder = folders.get(key)
        state["dirpath"] = str(folder) if folder is not None else None
        for field in PATH_FIELDS:
            if field in state:
                state[field] = _own_file(folder, state[field])
        if state.get("last_model_path") == "" and resumed_from and folder is not None:
            state["last_model_path"] = _own_file(folder, resumed_from)
        if "best_k_models" in state:
            recorded = state["best_k_models"] if isinstance(state["best_k_models"], dict) else {}
            kept = {_own_file(folder, path): score for path, score in recorded.items()}
            state["best_k_models"] = {path: score for path, score in kept.items() if path}
