"""One summary of a whole Optuna study, read from its storage: every worker's trials, where each
worker wrote its job folders, and the best trial. ``python -m loralab.sweeps.summary <storage>``
prints it; a sweep folder gives the table of its own jobs instead (``loralab.sweeps.summary``).
"""

from __future__ import annotations

from pathlib import Path

import optuna
from optuna.trial import FrozenTrial, TrialState

from loralab.sweeps.search.study_progress import (
    DROPPED_ATTR,
    FAILED_TRIAL_ATTR,
    JOB_FOLDER_ATTR,
    counted,
    retried_numbers,
)
from loralab.sweeps.search.study_storage import JOURNAL_PREFIX, journal_path, open_storage


def _load(storage_url: str, study_name: str | None) -> optuna.Study:
    # a file-backed storage that is not there: say so, rather than create an empty one
    path = journal_path(storage_url) if storage_url.startswith(JOURNAL_PREFIX) else None
    if storage_url.startswith("sqlite:///"):
        path = Path(storage_url.removeprefix("sqlite:///"))
    if path is not None and not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; pass the storage the search wrote (hydra.sweeper.storage)")
    storage = open_storage(storage_url, heartbeat_interval=None, grace_period=None, max_retry=0)
    names = [summary.study_name for summary in optuna.get_all_study_summaries(storage, include_best_trial=False)]
    if study_name is None and len(names) == 1:
        study_name = names[0]
    if study_name not in names:
        raise ValueError(
            f"{storage_url} holds the studies {names or 'none'}; "
            "pass the study's name after the storage (hydra.sweeper.study_name)"
        )
    return optuna.load_study(study_name=study_name, storage=storage)


def _status(trial: FrozenTrial, retried: set[int]) -> str:
    if DROPPED_ATTR in trial.user_attrs:
        return f"dropped: {trial.user_attrs[DROPPED_ATTR]}"
    if trial.number in retried:
        return "failed by heartbeat (its worker died), retried"
    if FAILED_TRIAL_ATTR in trial.system_attrs:
        return f"{trial.state.name.lower()} (retry of trial {trial.system_attrs[FAILED_TRIAL_ATTR]})"
    return trial.state.name.lower()


def study_report(storage_url: str, study_name: str | None = None) -> str:
    """The study's counts, a table of its trials and its best trial."""
    study = _load(storage_url, study_name)
    trials = study.get_trials(deepcopy=False)
    retried = retried_numbers(trials)
    done = [trial for trial in counted(trials) if trial.state.is_finished()]
    complete = [trial for trial in done if trial.state == TrialState.COMPLETE]
    lines = [
        f"study {study.study_name} in {storage_url}: {len(done)} trials finished ({len(complete)} complete, "
        f"{len(done) - len(complete)} failed or pruned), {len(trials)} in all",
        "",
        "| trial | status | value | params | job folder |",
        "|---|---|---|---|---|",
    ]
    for trial in trials:
        value = "" if trial.values is None else ", ".join(f"{v:.4f}" for v in trial.values)
        params = " ".join(f"{name}={value}" for name, value in trial.params.items())
        # a dropped retry carries the user attributes of the trial it retries, its job folder too
        folder = "" if DROPPED_ATTR in trial.user_attrs else trial.user_attrs.get(JOB_FOLDER_ATTR, "")
        lines.append(f"| {trial.number} | {_status(trial, retried)} | {value} | {params} | {folder} |")
    if complete and len(study.directions) == 1:
        best = study.best_trial
        lines += ["", f"best trial: {best.number}  value={best.value:.4f}  {best.params}"]
        if JOB_FOLDER_ATTR in best.user_attrs:
            lines.append(f"  its job folder: {best.user_attrs[JOB_FOLDER_ATTR]}")
    return "\n".join(lines)
