"""The search behind ``hydra/sweeper: loralab_optuna``: ask the study for trials, launch them, tell
it their results, until the study has ``n_trials`` finished.

- Resumable: rerunning the same command against the same storage runs only the missing trials, in
  job folders named after their trial numbers (nothing already written is touched).
- Shared: the same command started N times, on one machine or many, against one storage (a database
  URL or a journal file) joins one study; ``n_trials`` counts every worker's trials, and a worker
  ends when the study is done, after waiting for the others' trials (or for their heartbeat to stop,
  then retrying them). Job folders named after trial numbers never clash between workers.
- No repeats: the sampler is wrapped in ``NoRepeatSampler``, seeded ``seed + the trials already in
  the study`` (restarted from its seed, it would draw the first run's parameters again); two workers
  drawing at once are sorted out by ``study_progress.drop_reason``.
- A failed job is a failed trial; ``max_failure_rate`` of a batch stops the search. A search whose
  every trial failed ends like one with a best trial (the multirun's summary, then exit 1 naming the
  failed trials), with no best parameters written.
"""

from __future__ import annotations

import functools
import logging
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import optuna
from hydra.plugins.launcher import Launcher
from hydra.utils import instantiate
from omegaconf import OmegaConf
from optuna.trial import TrialState

from loralab.sweeps.job_folders import job_folder_name
from loralab.sweeps.search.no_repeat_sampler import NoRepeatSampler
from loralab.sweeps.search.search_space import search_space, trial_overrides
from loralab.sweeps.search.study_progress import DROPPED_ATTR, FAILED_TRIAL_ATTR, JOB_FOLDER_ATTR, drop_reason, progress
from loralab.sweeps.search.study_storage import Heartbeats, open_storage

log = logging.getLogger(__name__)

MAX_WAIT_SECONDS = 10  # a worker with nothing left to ask looks at the others' trials this often, at most


class StudySweep:
    """One worker's part of a search; its settings are those of ``hydra.sweeper``."""

    def __init__(
        self,
        launcher: Launcher,
        sweep_dir: Path,
        sampler: Any,
        directions: list[str],
        storage: str | None,
        study_name: str | None,
        n_trials: int,
        n_jobs: int,
        max_failure_rate: float,
        params: dict[str, str],
        heartbeat_interval: int | None,
        grace_period: int | None,
        max_retry: int,
        arguments: list[str],
    ) -> None:
        """Opens the study; a bad storage or search space raises ValueError naming the key."""
        self.launcher, self.sweep_dir = launcher, sweep_dir
        self.sampler_config, self.directions = sampler, directions
        self.n_trials, self.n_jobs, self.max_failure_rate = n_trials, n_jobs, max_failure_rate
        self.sweep_dir.mkdir(parents=True, exist_ok=True)  # sqlite makes the file, not the folder
        warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)  # fail_stale_trials
        warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used with Study.optimize")
        self.study = optuna.create_study(
            study_name=study_name,
            storage=open_storage(storage, heartbeat_interval, grace_period, max_retry),
            directions=directions,
            load_if_exists=True,
        )
        self.heartbeats = Heartbeats(self.study, heartbeat_interval, grace_period, max_retry)
        self.space, self.fixed = search_space([f"{key}={value}" for key, value in params.items()] + list(arguments))

    def run(self) -> None:
        space, fixed = self.space, self.fixed
        earlier = self.study.get_trials(deepcopy=False)
        self.study.sampler = self._sampler(space, len(earlier))
        if earlier:
            done = progress(self.study)
            name, to_go = self.study.study_name, done.to_go(self.n_trials)
            if done.running:
                log.info(
                    "joining study %s: %d trials finished, %d running, %d to go",
                    name,
                    done.finished,
                    done.running,
                    to_go,
                )
            else:
                log.info("resuming study %s: %d trials finished, %d to go", name, done.finished, to_go)
        waiting_for = 0
        while True:
            self.heartbeats.fail_stale_trials()
            done = progress(self.study)
            to_go = done.to_go(self.n_trials)
            if to_go == 0:
                if done.running == 0 or not self.heartbeats.interval:
                    break
                if done.running != waiting_for:  # other workers' trials, or one of a killed run
                    log.info(
                        "waiting for %d running trials of study %s (a trial whose worker died is retried "
                        "%d s after its last heartbeat)",
                        done.running,
                        self.study.study_name,
                        self.heartbeats.grace_period,
                    )
                    waiting_for = done.running
                time.sleep(min(self.heartbeats.interval, MAX_WAIT_SECONDS))
                continue
            trials = self._ask(space, min(self.n_jobs, to_go))
            if trials:
                self._launch(trials, fixed)
        self._write_best()

    def _ask(self, space: dict[str, Any], batch_size: int) -> list[optuna.Trial]:
        """Up to ``batch_size`` new trials with their parameters; one that another worker got first
        (the same parameters, or the last trial of ``n_trials``) is dropped, told as pruned."""
        trials = []
        for _ in range(batch_size):
            trial = self.study.ask()
            with self.heartbeats.beating([trial._trial_id]):
                for name, distribution in space.items():
                    trial._suggest(name, distribution)  # a retry's parameters are fixed: it gets them back
                is_retry = FAILED_TRIAL_ATTR in self.study._storage.get_trial(trial._trial_id).system_attrs
                reason = drop_reason(self.study, trial, self.n_trials, is_retry)
            if reason is None:
                trials.append(trial)
                continue
            log.info("trial %d dropped (%s)", trial.number, reason)
            trial.set_user_attr(DROPPED_ATTR, reason)
            self.study.tell(trial, state=TrialState.PRUNED)
            self.study.sampler.reseed_rng()  # two workers in step would draw the same parameters again
        return trials

    def _launch(self, trials: list[optuna.Trial], fixed: list[str]) -> None:
        overrides = []
        for trial in trials:
            folder = job_folder_name(trial.number)  # workers sharing a sweep folder never clash
            trial.set_user_attr(JOB_FOLDER_ATTR, str((self.sweep_dir / folder).resolve()))
            overrides.append([*trial_overrides(trial.params, fixed), f"hydra.sweep.subdir='{folder}'"])
        with self.heartbeats.beating([trial._trial_id for trial in trials]):
            returns = self.launcher.launch(overrides, initial_job_idx=trials[0].number)
        failures = []
        for trial, result in zip(trials, returns):
            try:
                values = self._values(result.return_value)
            except Exception as error:  # the job's own error, raised again by return_value
                log.warning("trial %d failed: %s", trial.number, error)
                self.study.tell(trial, state=TrialState.FAIL)
                failures.append(result)
                continue
            self.study.tell(trial, values=values)
        if failures and len(failures) / len(returns) > self.max_failure_rate:
            log.error(
                "%d of %d trials failed: over max_failure_rate=%s", len(failures), len(returns), self.max_failure_rate
            )
            _ = failures[0].return_value  # raises the first failed job's error

    def _values(self, value: Any) -> list[float]:
        values = list(value) if isinstance(value, Sequence) and not isinstance(value, str) else [value]
        if len(values) != len(self.directions):
            raise ValueError(f"the job returned {len(values)} values for {len(self.directions)} directions")
        return [float(v) for v in values]

    def _sampler(self, space: dict[str, Any], earlier_trials: int) -> optuna.samplers.BaseSampler:
        """The configured sampler, seeded ``seed + earlier_trials`` when it has a seed, wrapped in
        ``NoRepeatSampler``; a grid sampler (``_partial_: true``) gets the grid of the ``choice``
        parameters and is not wrapped (it never repeats a point)."""
        seed = OmegaConf.select(self.sampler_config, "seed", default=None)
        if seed is None:
            sampler = instantiate(self.sampler_config)
        else:
            seed = int(seed) + earlier_trials
            if earlier_trials:
                log.info("sampler seeded %d (seed %d + %d earlier trials)", seed, seed - earlier_trials, earlier_trials)
            sampler = instantiate(self.sampler_config, seed=seed)
        if isinstance(sampler, functools.partial):
            return sampler({name: list(distribution.choices) for name, distribution in space.items()})
        return NoRepeatSampler(sampler, seed=seed)

    def _write_best(self) -> None:
        """``optimization_results.yaml`` in the sweep folder: the best trial of the whole study."""
        if not self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
            log.error("no trial of study %s finished: no best parameters to report", self.study.study_name)
            return
        if len(self.directions) == 1:
            best = self.study.best_trial
            results = {"name": "optuna", "best_params": best.params, "best_value": best.value}
            log.info("best parameters: %s; best value: %s", best.params, best.value)
        else:
            solutions = [{"params": trial.params, "values": trial.values} for trial in self.study.best_trials]
            results = {"name": "optuna", "solutions": solutions}
        OmegaConf.save(OmegaConf.create(results), self.sweep_dir / "optimization_results.yaml")
