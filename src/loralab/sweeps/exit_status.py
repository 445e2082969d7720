"""A sweep in which any job failed exits 1, after every job has run and the summary is written (as
``make -k`` and pytest do): the sweep goes on past a failed job (``jobs.py``), and scripts and CI
still learn that something failed."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from loralab.sweeps.jobs import FAILURE_FILE

SHOWN_PATHS = 5  # more failures are named by a pattern, not one path each


def failed_jobs_line(sweep_dir: str | Path) -> str | None:
    """``error: <n> of <m> sweep jobs failed; why: <their failure.json files>``, or None when none failed."""
    sweep_dir = Path(sweep_dir)
    jobs = [d for d in sweep_dir.iterdir() if (d / ".hydra").is_dir()] if sweep_dir.is_dir() else []
    failures = sorted(job / FAILURE_FILE for job in jobs if (job / FAILURE_FILE).is_file())
    if not failures:
        return None
    where = " ".join(map(str, failures)) if len(failures) <= SHOWN_PATHS else f"{sweep_dir}/*/{FAILURE_FILE}"
    return f"error: {len(failures)} of {len(jobs)} sweep jobs failed; why: {where}"


class FailedJobsExitStatus(Callback):
    """Hydra callback (``hydra.callbacks``): when a multirun ends with failed jobs, print how many and
    where their ``failure.json`` files are, and exit 1. Listed first in ``hydra.callbacks``: Hydra
    calls ``on_multirun_end`` in reverse order, so this runs after the summary and the lock's release."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        line = failed_jobs_line(config.hydra.sweep.dir)
        if line:
            print(line, file=sys.stderr, flush=True)
            raise SystemExit(1)
