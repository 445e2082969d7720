"""A search many workers share: the same command started three times against one storage (a real
PostgreSQL server, started here, and a journal file) joins one study of ``n_trials=9``; one worker is
killed mid-trial. The study still ends with 9 complete trials, none with the parameters of another,
the killed trial failed by heartbeat and retried, and the job folders named by trial number.

The workers run a cheap objective (``helpers/optuna_objective.py``): the sweeper is the same for any
task, and train.py through it is tested in test_launchers.py. Three train.py workers sharing a
PostgreSQL study are the last test here, run where ``LORALAB_TEST_SHARED_TRAIN`` is set."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from helpers.paths import PROJECT_ROOT
from helpers.postgres_server import postgres_server, why_no_postgres
from helpers.tiny_data import write_tiny_data
from helpers.train_configs import tiny_run_overrides

from loralab.sweeps.search.study_progress import FAILED_TRIAL_ATTR, JOB_FOLDER_ATTR
from loralab.sweeps.search.study_storage import open_storage
from loralab.sweeps.summary import main as summary_main

pytestmark = pytest.mark.integration  # worker processes, each running its trials

N_TRIALS = 9
SHARED = [
    f"hydra.sweeper.n_trials={N_TRIALS}",
    "hydra.sweeper.study_name=shared",
    "hydra.sweeper.heartbeat_interval=1",  # seconds: the killed trial is failed 3 s after its last heartbeat
    "hydra.sweeper.grace_period=3",
]
OBJECTIVE = PROJECT_ROOT / "tests" / "helpers" / "optuna_objective.py"


def start_worker(command: list[str], sweep_dir: Path, log: Path) -> subprocess.Popen:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    with log.open("w") as output:
        return subprocess.Popen(
            [*command, f"hydra.sweep.dir={sweep_dir}"], cwd=PROJECT_ROOT, stdout=output, stderr=output, env=env
        )


def kill_mid_trial(worker: subprocess.Popen, sweep_dir: Path, started: str, done: str, timeout: float = 120) -> None:
    """SIGKILL ``worker`` once one of its job folders holds ``started`` but not ``done``: its trial is
    running and not yet told to the study."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and worker.poll() is None:
        jobs = [job for job in sweep_dir.glob("*") if (job / started).exists() and not (job / done).exists()]
        if jobs:
            worker.send_signal(signal.SIGKILL)
            worker.wait()
            return
        time.sleep(0.05)
    pytest.fail(f"worker {worker.pid} never ran a trial to kill (see its log beside {sweep_dir})")


def run_three_workers(command: list[str], storage: str, tmp_path: Path, started: str, done: str) -> list[Path]:
    """Three workers on one study, the first killed mid-trial; returns their sweep folders."""
    sweep_dirs = [tmp_path / f"worker{i}" for i in range(3)]
    workers = [
        start_worker([*command, *SHARED, f"hydra.sweeper.storage={storage}"], sweep_dir, tmp_path / f"worker{i}.log")
        for i, sweep_dir in enumerate(sweep_dirs)
    ]
    try:
        kill_mid_trial(workers[0], sweep_dirs[0], started, done)
        for i, worker in enumerate(workers[1:], start=1):
            assert worker.wait(timeout=150) == 0, (tmp_path / f"worker{i}.log").read_text()[-3000:]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
    return sweep_dirs


def assert_study_done(storage: str, sweep_dirs: list[Path]) -> list[optuna.trial.FrozenTrial]:
    """9 complete trials with 9 different parameter sets; the killed one failed and retried; each
    complete trial's job folder named by its trial number, in the sweep folder of the worker that ran it."""
    trials = optuna.load_study(study_name="shared", storage=open_storage(storage, None, None, 0)).get_trials()
    complete = [trial for trial in trials if trial.state == optuna.trial.TrialState.COMPLETE]
    assert len(complete) == N_TRIALS
    assert len({tuple(sorted(trial.params.items())) for trial in complete}) == N_TRIALS
    # the killed trial failed, and its retry (the same parameters) is one of the complete trials
    retried = [trial.system_attrs[FAILED_TRIAL_ATTR] for trial in complete if FAILED_TRIAL_ATTR in trial.system_attrs]
    failed = [trial.number for trial in trials if trial.state == optuna.trial.TrialState.FAIL]
    assert failed and set(failed) <= set(retried)
    folders = [Path(trial.user_attrs[JOB_FOLDER_ATTR]) for trial in complete]
    assert [folder.name.lstrip("0") or "0" for folder in folders] == [str(trial.number) for trial in complete]
    assert {folder.parent for folder in folders} <= {sweep_dir.resolve() for sweep_dir in sweep_dirs}
    assert all((folder / ".hydra").is_dir() for folder in folders)
    return trials


@pytest.fixture
def postgres_url():
    """A throwaway PostgreSQL server for the test (skipped, with the reason, where none can start)."""
    if reason := why_no_postgres():
        pytest.skip(reason)
    with postgres_server() as url:
        yield url


@pytest.fixture(params=["postgresql", "journal"])
def storage(request, tmp_path):
    if request.param == "journal":
        return f"journal:{tmp_path / 'study.log'}"
    return request.getfixturevalue("postgres_url")


def test_three_workers_share_one_study_and_survive_a_killed_worker(storage, tmp_path, capsys):
    command = [sys.executable, str(OBJECTIVE), "-m", "seconds=0.5"]
    sweep_dirs = run_three_workers(command, storage, tmp_path, started="started", done="done")
    assert_study_done(storage, sweep_dirs)
    summary_main([storage])  # python -m loralab.sweeps.summary <storage>
    printed = capsys.readouterr().out
    assert f"{N_TRIALS} trials finished ({N_TRIALS} complete, 0 failed or pruned)" in printed
    assert "failed by heartbeat (its worker died), retried" in printed


@pytest.mark.skipif(
    not os.environ.get("LORALAB_TEST_SHARED_TRAIN"),
    reason="three train.py workers take over a minute on 2 CPU cores: set LORALAB_TEST_SHARED_TRAIN=1 to run them",
)
def test_three_train_py_workers_share_a_study_on_postgresql_and_survive_a_killed_worker(postgres_url, tmp_path):
    command = [
        sys.executable,
        "train.py",
        *tiny_run_overrides(write_tiny_data(tmp_path / "data")),
        "model=lora_textclassifier",
        "trainer.max_epochs=1",
        f"paths.cache_dir={tmp_path / 'cache'}",
        "hparams_search=lora_optuna",
    ]
    sweep_dirs = run_three_workers(command, postgres_url, tmp_path, started=".hydra", done="metrics.json")
    trials = assert_study_done(postgres_url, sweep_dirs)
    complete = [trial for trial in trials if trial.state == optuna.trial.TrialState.COMPLETE]
    assert all(0.0 <= trial.value <= 1.0 for trial in complete)  # val/acc_best of each trial
    assert all((Path(trial.user_attrs[JOB_FOLDER_ATTR]) / "metrics.json").is_file() for trial in complete)
