"""Hydra's Optuna sweeper, made resumable: its study lives in an sqlite file in the sweep folder,
and rerunning the same command with the same ``hydra.sweep.dir`` runs only the trials still
missing, in new job folders numbered after the old ones (nothing already written is touched).
No trial repeats an earlier one's parameters: the sampler is wrapped in ``NoRepeatSampler``, and
a resumed search seeds it with ``seed + the number of trials in the study`` (restarted from its
seed, it would draw the first run's parameters again), which keeps a resumed search reproducible.
A search whose every trial failed ends like one with a best trial (the multirun's summary, then
exit 1 naming the failed trials), not in Optuna's "Record does not exist" traceback.

Hydra loads sweepers only from the ``hydra_plugins`` package, hence this module's place.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any

from hydra.types import HydraContext, TaskFunction
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from hydra_plugins.hydra_optuna_sweeper.optuna_sweeper import OptunaSweeper

log = logging.getLogger(__name__)


class ResumableOptunaSweeper(OptunaSweeper):
    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.sampler_config = OmegaConf.select(config, "hydra.sweeper.sampler", default=None)
        super().setup(hydra_context=hydra_context, task_function=task_function, config=config)

    def sweep(self, arguments: list[str]) -> None:
        impl = self.sweeper
        Path(impl.sweep_dir).mkdir(parents=True, exist_ok=True)  # sqlite makes the file, not the folder
        trials = self._earlier_trials()
        if trials:
            finished = sum(trial.state.is_finished() for trial in trials)
            log.info(
                "resuming study %s: %d trials finished, %d to go",
                impl.study_name,
                finished,
                max(0, impl.n_trials - finished),
            )
            impl.n_trials = max(0, impl.n_trials - finished)
            impl.job_idx = len(trials)  # a killed trial's folder stays; its rerun gets a new one
        if not isinstance(impl.sampler, functools.partial):  # a grid sampler never repeats a point
            impl.sampler = self._no_repeat_sampler(len(trials))
        try:
            return impl.sweep(arguments)
        except ValueError:  # Optuna's study.best_trial, when no trial completed
            trials = self._earlier_trials()
            if not trials or any(trial.state.name == "COMPLETE" for trial in trials):
                raise
            log.error("no trial of study %s finished: no best parameters to report", impl.study_name)
            return None

    def _no_repeat_sampler(self, earlier_trials: int) -> Any:
        """The configured sampler, seeded ``seed + earlier_trials`` when it has a seed, wrapped in
        ``NoRepeatSampler``."""
        from hydra_plugins.loralab_optuna.no_repeat_sampler import NoRepeatSampler

        seed = OmegaConf.select(self.sampler_config, "seed", default=None) if self.sampler_config else None
        if seed is None:
            return NoRepeatSampler(self.sweeper.sampler)
        if earlier_trials:
            log.info("sampler seeded %d (seed %d + %d earlier trials)", seed + earlier_trials, seed, earlier_trials)
        base = instantiate(self.sampler_config, seed=int(seed) + earlier_trials)
        return NoRepeatSampler(base, seed=int(seed) + earlier_trials)

    def _earlier_trials(self) -> list[Any]:
        """The study's trials so far (optuna FrozenTrials); optuna is imported here, not at module
        level, because Hydra imports every plugin module at each start, sweeping or not."""
        impl = self.sweeper
        if not impl.storage:
            return []
        import optuna

        try:
            return optuna.load_study(study_name=impl.study_name, storage=impl.storage).trials
        except KeyError:  # no such study yet
            return []
