"""A sweep job that fails is recorded as failed, and the sweep goes on with the next job."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from pathlib import Path

from omegaconf import DictConfig

from loralab.atomic_files import atomic_write_json, atomic_write_text
from loralab.cli_errors import first_line

log = logging.getLogger(__name__)

FAILURE_FILE = "failure.json"


def train_or_record_failure(cfg: DictConfig, train: Callable[[DictConfig], dict]) -> dict | None:
    """``train(cfg)``; on any exception, write ``failure.json`` (type and one-line message) and
    ``traceback.txt`` into the job folder and return None, so Hydra's launcher starts the next job."""
    try:
        return train(cfg)
    except Exception as error:  # a sweep must survive any one job
        output_dir = Path(cfg.paths.output_dir)
        atomic_write_json(output_dir / FAILURE_FILE, {"error": type(error).__name__, "message": first_line(error)})
        atomic_write_text(output_dir / "traceback.txt", traceback.format_exc())
        log.error("job failed, the sweep goes on: %s: %s", type(error).__name__, first_line(error))
        return None
