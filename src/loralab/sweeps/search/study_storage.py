"""The study's storage from ``hydra.sweeper.storage``, and the heartbeats that let workers sharing it
fail and retry the trial of a worker that died.

An RDB URL (``sqlite:///``, ``postgresql://``, ``mysql://``) opens Optuna's ``RDBStorage`` with its own
heartbeat (the database's clock judges staleness). ``journal:<path>`` opens a ``JournalStorage`` on a
``JournalFileBackend`` (one file on a shared disk, no server); Optuna's journal has no heartbeat, so a
worker writes its trials' heartbeats as a system attribute and the workers' clocks judge staleness.
A stale trial is marked failed and re-queued with the same parameters (``RetryFailedTrialCallback``).
"""

from __future__ import annotations

import inspect
import random
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import optuna
import sqlalchemy
from optuna.storages import BaseStorage, JournalStorage, RDBStorage
from optuna.trial import TrialState

JOURNAL_PREFIX = "journal:"
HEARTBEAT_ATTR = "loralab_heartbeat"  # seconds since the epoch, on the worker's clock (journal only)
RDB_SCHEMES = ("sqlite", "postgresql", "mysql", "oracle", "mssql")
STORAGE_ATTEMPTS = 5  # tries to open a database whose tables another worker is creating


def retry_callback(max_retry: int) -> Any:
    """Optuna's callback that re-queues a stale trial (named ``RetryHeartbeatStaleTrialCallback`` from 4.9)."""
    storages = optuna.storages
    retry = getattr(storages, "RetryHeartbeatStaleTrialCallback", None) or storages.RetryFailedTrialCallback
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return retry(max_retry=max_retry)


def journal_path(storage: str) -> Path:
    """``journal:///abs/study.log`` -> ``/abs/study.log``; ``journal:study.log`` -> ``study.log``."""
    path = storage.removeprefix(JOURNAL_PREFIX)
    return Path(path[2:] if path.startswith("///") else path)


def open_storage(
    storage: str | None, heartbeat_interval: int | None, grace_period: int | None, max_retry: int
) -> BaseStorage | None:
    """The Optuna storage ``storage`` names (None: a study in memory), or one line naming the fix."""
    if storage is None:
        return None
    storage = str(storage)
    if storage.startswith(JOURNAL_PREFIX):
        path = journal_path(storage)
        path.parent.mkdir(parents=True, exist_ok=True)
        return JournalStorage(optuna.storages.journal.JournalFileBackend(str(path)))
    if storage.split("://")[0].split("+")[0] not in RDB_SCHEMES:
        raise ValueError(
            f"hydra.sweeper.storage={storage} is neither a database URL nor a journal file: give "
            "sqlite:///<file>, postgresql://<user>@<host>/<db>, mysql://... or journal:<file>"
        )
    retry = retry_callback(max_retry) if heartbeat_interval else None
    # the callback's keyword is heartbeat_stale_trial_callback from Optuna 4.9, failed_trial_callback before
    keyword = "heartbeat_stale_trial_callback"
    if keyword not in inspect.signature(RDBStorage).parameters:
        keyword = "failed_trial_callback"
    options = {"heartbeat_interval": heartbeat_interval, "grace_period": grace_period, keyword: retry}
    for _ in range(STORAGE_ATTEMPTS - 1):
        try:
            return RDBStorage(storage, **options)
        except sqlalchemy.exc.DBAPIError:  # workers started together all create the tables at once: "already exists"
            time.sleep(0.5 + random.random())
    return RDBStorage(storage, **options)


class Heartbeats:
    """Records heartbeats for this worker's running trials, and fails other workers' stale trials."""

    def __init__(self, study: optuna.Study, interval: int | None, grace_period: int | None, max_retry: int) -> None:
        self.study = study
        self.interval = interval
        self.grace_period = grace_period or 2 * (interval or 0)
        self.retry = retry_callback(max_retry)
        self.is_journal = isinstance(study._storage, JournalStorage)

    def _record(self, trial_ids: list[int]) -> None:
        storage = self.study._storage  # an RDBStorage comes wrapped in Optuna's cache, which passes heartbeats on
        for trial_id in trial_ids:
            if self.is_journal:
                storage.set_trial_system_attr(trial_id, HEARTBEAT_ATTR, time.time())
            elif hasattr(storage, "record_heartbeat") and storage.get_heartbeat_interval():
                storage.record_heartbeat(trial_id)

    @contextmanager
    def beating(self, trial_ids: list[int]) -> Iterator[None]:
        """Heartbeats for ``trial_ids`` every ``interval`` seconds while the block runs."""
        if not self.interval:
            yield
            return
        stop = threading.Event()

        def beat() -> None:
            while True:
                try:
                    self._record(trial_ids)
                except optuna.exceptions.UpdateFinishedTrialError:
                    return  # failed as stale by another worker (this one was too slow): nothing to keep alive
                if stop.wait(self.interval):
                    return

        thread = threading.Thread(target=beat, name="optuna-heartbeat", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def fail_stale_trials(self) -> None:
        """Mark the running trials whose heartbeat stopped as failed, and re-queue them."""
        if not self.interval:
            return
        if not self.is_journal:
            optuna.storages.fail_stale_trials(self.study)
            return
        storage, now = self.study._storage, time.time()
        for trial in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            last = trial.system_attrs.get(HEARTBEAT_ATTR)
            if last is None or now - float(last) <= self.grace_period:
                continue
            try:
                if not storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL):
                    continue
            except optuna.exceptions.UpdateFinishedTrialError:
                continue  # another worker failed it first (and re-queued it)
            self.retry(self.study, storage.get_trial(trial._trial_id))
