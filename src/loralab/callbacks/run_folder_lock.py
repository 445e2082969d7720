"""Lock the run (or sweep) folder before Hydra writes its ``.hydra/`` files into it, so a second
run into a folder in use is refused before it changes anything there."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from loralab.atomic_files import WRITE_ERRNOS, write_error
from loralab.runs.run_lock import LOCK_FILE, RunFolderInUse, acquire_run_lock, is_secondary_process, release_run_lock


def _lock(folder: str) -> None:
    if is_secondary_process():  # the extra processes of a multi-device run share rank 0's folder
        return
    try:
        acquire_run_lock(folder)
    except RunFolderInUse as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(1) from None
    except OSError as error:  # a read-only file system, a full disk
        if error.errno not in WRITE_ERRNOS:
            raise
        print(f"error: {write_error(Path(folder) / LOCK_FILE, error).strerror}", file=sys.stderr)
        raise SystemExit(1) from None


class LockOutputFolder(Callback):
    """Hydra callback (``hydra.callbacks``): hold ``hydra.run.dir`` / ``hydra.sweep.dir`` while the run goes on."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        _lock(config.hydra.run.dir)

    def on_run_end(self, config: DictConfig, **kwargs: Any) -> None:
        release_run_lock(config.hydra.run.dir)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        _lock(config.hydra.sweep.dir)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        release_run_lock(config.hydra.sweep.dir)
