"""loralab's Hydra sweeper on Optuna (``hydra/sweeper: loralab_optuna``, ``sweeper_config.py``): the
study is built from ``hydra.sweeper``, trials are asked for in batches of ``n_jobs``, run by Hydra's
launcher (in process, joblib, SLURM) and told back. The search itself is
``loralab.sweeps.search.study_sweep``: resumable, shared by any number of workers, never repeating
parameters.

Hydra loads sweepers only from the ``hydra_plugins`` package, hence this module's place; it imports
Optuna only when a sweep starts, since Hydra imports every plugin module at each start.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hydra.core.plugins import Plugins
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

from loralab.sweeps.job_composition import composing_once_per_group_choices


class OptunaSweeper(Sweeper):
    def __init__(
        self,
        sampler: Any,
        direction: Any,
        storage: str | None,
        study_name: str | None,
        n_trials: int,
        n_jobs: int,
        max_failure_rate: float,
        params: DictConfig | None,
        heartbeat_interval: int | None = 60,
        grace_period: int | None = None,
        max_retry: int = 2,
    ) -> None:
        if not 0.0 <= max_failure_rate <= 1.0:
            raise ValueError(f"hydra.sweeper.max_failure_rate={max_failure_rate}: use a share from 0.0 to 1.0")
        self.settings = {
            "sampler": sampler,
            "directions": [str(d) for d in direction] if OmegaConf.is_list(direction) else [str(direction)],
            "storage": storage,
            "study_name": study_name,
            "n_trials": int(n_trials),
            "n_jobs": max(1, int(n_jobs)),
            "max_failure_rate": float(max_failure_rate),
            "params": {str(key): str(value) for key, value in (params or {}).items()},
            "heartbeat_interval": heartbeat_interval,
            "grace_period": grace_period,
            "max_retry": int(max_retry),
        }

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.launcher = Plugins.instance().instantiate_launcher(
            config=config, hydra_context=composing_once_per_group_choices(hydra_context), task_function=task_function
        )
        self.sweep_dir = Path(config.hydra.sweep.dir)

    def sweep(self, arguments: list[str]) -> None:
        from loralab.cli_errors import run_cli
        from loralab.sweeps.search.study_sweep import StudySweep

        # a bad storage URL or search space: one line naming it, exit 1
        search = run_cli(lambda: StudySweep(self.launcher, self.sweep_dir, arguments=arguments, **self.settings))
        search.run()
