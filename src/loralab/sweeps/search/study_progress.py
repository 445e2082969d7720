"""What a study shared by several workers has done, read from its storage before each trial, so that
``n_trials`` counts the trials of every worker and no two workers run the same parameters.

A trial counts towards ``n_trials`` once finished (complete, pruned or failed), except a trial failed
by heartbeat that was re-queued (its retry counts instead) and a trial this sweeper dropped before it
ran. Two workers asking at the same moment may draw the same parameters, or both take the last trial:
the later one sees the other in the storage and drops its own (``drop_reason``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

DROPPED_ATTR = "loralab_dropped"  # why a trial was dropped before it ran (a user attribute)
JOB_FOLDER_ATTR = "job_folder"  # a trial's job folder, for a summary of the whole study (a user attribute)
FAILED_TRIAL_ATTR = "failed_trial"  # set by RetryFailedTrialCallback on a retry: the trial it retries


def is_dropped(trial: FrozenTrial) -> bool:
    return DROPPED_ATTR in trial.user_attrs


def retried_numbers(trials: list[FrozenTrial]) -> set[int]:
    """The trials failed by heartbeat that were re-queued."""
    return {trial.system_attrs[FAILED_TRIAL_ATTR] for trial in trials if FAILED_TRIAL_ATTR in trial.system_attrs}


def counted(trials: list[FrozenTrial]) -> list[FrozenTrial]:
    """The trials that count towards ``n_trials``, finished or not: none dropped, none retried."""
    retried = retried_numbers(trials)
    return [
        trial
        for trial in trials
        if not is_dropped(trial) and trial.number not in retried and trial.state != TrialState.WAITING
    ]


@dataclass
class Progress:
    finished: int  # trials that count towards n_trials and are finished
    running: int  # trials that count and are running, in any worker

    def to_go(self, n_trials: int) -> int:
        return max(0, n_trials - self.finished - self.running)


def progress(study: optuna.Study) -> Progress:
    trials = counted(study.get_trials(deepcopy=False))
    finished = sum(trial.state.is_finished() for trial in trials)
    return Progress(finished=finished, running=len(trials) - finished)


def _param_key(params: dict[str, Any]) -> tuple:
    return tuple(sorted((name, repr(value)) for name, value in params.items()))


def drop_reason(study: optuna.Study, trial: optuna.Trial, n_trials: int, is_retry: bool) -> str | None:
    """Why ``trial`` (just asked, its parameters suggested) must not run, or None: another running
    trial has its parameters (a retry keeps the parameters of the trial it retries), or the trials
    numbered before it already make ``n_trials``."""
    every = study.get_trials(deepcopy=False)  # with this trial: a retry makes the trial it retries not count
    before = [other for other in counted(every) if other.number < trial.number]
    trials = [other for other in every if other.number != trial.number]
    if len(before) >= n_trials:
        return f"surplus: trials before it make n_trials={n_trials}"
    if is_retry:
        return None
    key = _param_key(trial.params)
    for other in trials:
        if other.state == TrialState.RUNNING and not is_dropped(other) and _param_key(other.params) == key:
            return f"duplicate of running trial {other.number}"
    return None
