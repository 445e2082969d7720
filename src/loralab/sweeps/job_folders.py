"""Job folders numbered with leading zeros (``00`` ... ``11``), so that file browsers, ``ls`` and
TensorBoard's run list sort a sweep's jobs in job order rather than ``0, 1, 10, 11, 2``.

``hydra.sweep.subdir`` is ``${loralab.job_folder:${hydra.job.num}}``; the width comes from the
number of jobs, which only the main process knows when the multirun starts: the callback below
counts them and passes the count to every job process in ``LORALAB_SWEEP_SIZE``.
"""

from __future__ import annotations

import math
import os
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

SWEEP_SIZE_VARIABLE = "LORALAB_SWEEP_SIZE"
RESOLVER = "loralab.job_folder"


def job_folder_name(job_num: int | str, sweep_size: int | None = None) -> str:
    """``job_num`` padded with zeros to the width of the sweep's last job number."""
    if sweep_size is None:
        sweep_size = int(os.environ.get(SWEEP_SIZE_VARIABLE) or 0)
    width = len(str(max(sweep_size - 1, 0)))
    return str(job_num).zfill(width)


def register_job_folder_resolver() -> None:
    """Make ``${loralab.job_folder:...}`` resolvable; done when ``loralab.sweeps`` is imported,
    which every job process does (train.py imports it) before Hydra names the job's folder."""
    if not OmegaConf.has_resolver(RESOLVER):
        OmegaConf.register_new_resolver(RESOLVER, job_folder_name)


def sweep_size(config: DictConfig) -> int | None:
    """How many jobs the multirun ``config`` launches: ``hydra.sweeper.n_trials`` for a search
    (Optuna), else the product of the swept values' counts (Hydra's basic sweeper); None when the
    sweep arguments cannot be counted (a sweeper plugin this does not know)."""
    sweeper = config.hydra.sweeper
    n_trials = OmegaConf.select(sweeper, "n_trials", default=None)
    if n_trials is not None:
        return int(n_trials)
    params = OmegaConf.select(sweeper, "params", default=None) or {}
    arguments = [f"{key}={value}" for key, value in params.items()]
    arguments += list(config.hydra.overrides.task)
    try:
        overrides = OverridesParser.create().parse_overrides(arguments)
    except Exception:  # a grammar only another sweeper understands: keep the plain numbers
        return None
    counts = {}
    for override in overrides:
        # the same key given twice (in params and on the command line): the later one wins
        is_counted = override.is_sweep_override() and override.is_discrete_sweep()
        counts[override.get_key_element()] = len(list(override.sweep_string_iterator())) if is_counted else 1
    return math.prod(counts.values())


class NumberJobFolders(Callback):
    """Hydra callback (``hydra.callbacks``): count the sweep's jobs before the first one starts."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        size = sweep_size(config)
        if size is None:
            os.environ.pop(SWEEP_SIZE_VARIABLE, None)
        else:
            os.environ[SWEEP_SIZE_VARIABLE] = str(size)
