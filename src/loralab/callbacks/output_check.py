"""Refuse an output folder that cannot be written before Hydra tries to make it (and fails with a
traceback), so the message names the folder and the setting to change."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig


def unwritable_reason(folder: str | Path) -> str | None:
    """Why ``folder`` could not be created and written, or None if it can (nothing is created)."""
    path = Path(folder).absolute()
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not existing.is_dir():
        return f"{existing} is a file, not a folder"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{existing} is not writable by this user"
    return None


def _refuse(folder: str, setting: str) -> None:
    reason = unwritable_reason(folder)
    if reason:
        print(
            f"error: cannot write the output folder {folder}: {reason}; set {setting}=<a writable folder>",
            file=sys.stderr,
        )
        raise SystemExit(1)


class CheckOutputFolder(Callback):
    """Hydra callback (``hydra.callbacks``): check ``hydra.run.dir`` / ``hydra.sweep.dir`` first."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        _refuse(config.hydra.run.dir, "hydra.run.dir")

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        _refuse(config.hydra.sweep.dir, "hydra.sweep.dir")
