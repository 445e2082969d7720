"""Hydra's own machinery runs loralab unchanged: jobs in parallel (joblib), a resumable Optuna
search, and the SLURM launcher, run through submitit's local executor and composed for SLURM
(DDP: test_ddp.py)."""

import csv
import json
import signal

import pytest
from helpers.messages import assert_names
from helpers.paths import PROJECT_ROOT
from helpers.train_configs import compose_train_config, tiny_run_overrides
from hydra.core.utils import JobReturn, JobStatus
from hydra.utils import get_class
from omegaconf import OmegaConf
from test_sweep_summary import run_train

from hydra_plugins.hydra_submitit_launcher import submitit_launcher
from loralab.sweeps.exit_status import failed_jobs_line
from loralab.sweeps.jobs import FAILURE_FILE
from loralab.sweeps.submitit_launchers import RecordsKilledJobs, job_returns
from loralab.sweeps.summary import sweep_rows

# Runs the entry points in subprocesses: the full suite, not the fast tier (CONTRIBUTING.md).
pytestmark = pytest.mark.integration


def test_joblib_runs_the_jobs_in_parallel_processes(tiny_data_dir, tmp_path):
    sweep_dir = tmp_path / "sweep"
    args = [
        "-m",
        *tiny_run_overrides(tiny_data_dir),
        "model=lora_textclassifier",
        "model.lora.rank=1,2",
        "trainer.max_epochs=1",
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        f"hydra.sweep.dir={sweep_dir}",
    ]
    result = run_train(args, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Joblib.Parallel(n_jobs=2" in result.stderr + result.stdout
    assert [r["status"] for r in csv.DictReader((sweep_dir / "summary.csv").open())] == ["ok", "ok"]


def test_optuna_search_resumes_from_its_sqlite_study(tiny_data_dir, tmp_path):
    sweep_dir = tmp_path / "search"
    args = [
        *tiny_run_overrides(tiny_data_dir),
        "model=lora_textclassifier",
        "trainer.max_epochs=1",
        "hparams_search=lora_optuna",
        f"hydra.sweep.dir={sweep_dir}",
    ]
    first = run_train([*args, "hydra.sweeper.n_trials=2"], tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    assert (sweep_dir / "optuna.db").is_file()
    written = {job: (sweep_dir / job / "metrics.json").stat().st_mtime_ns for job in ("0", "1")}

    # As after a kill: the same command with more trials asked for runs only the missing one.
    resumed = run_train([*args, "hydra.sweeper.n_trials=3"], tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "2 trials finished, 1 to go" in resumed.stderr + resumed.stdout
    assert "sampler seeded 1236 (seed 1234 + 2 earlier trials)" in resumed.stderr + resumed.stdout
    # a sampler restarted from its seed suggested trial 0's parameters again; the search space
    # here is 32 combinations (lr is fixed on the command line), where draws repeat by chance too
    searched = OmegaConf.load(PROJECT_ROOT / "conf" / "hparams_search" / "lora_optuna.yaml").hydra.sweeper.params
    suggested = [
        sorted(o for o in OmegaConf.load(sweep_dir / job / ".hydra" / "overrides.yaml") if o.split("=")[0] in searched)
        for job in ("0", "1", "2")
    ]
    assert all(len(params) == len(searched) for params in suggested) and suggested[2] not in suggested[:2]
    assert sorted(p.name for p in sweep_dir.iterdir() if p.name.isdigit()) == ["0", "1", "2"]
    assert {job: (sweep_dir / job / "metrics.json").stat().st_mtime_ns for job in ("0", "1")} == written
    rows = list(csv.DictReader((sweep_dir / "summary.csv").open()))
    assert len(rows) == 3 and all(r["status"] == "ok" for r in rows)
    best = (sweep_dir / "optimization_results.yaml").read_text()
    assert "best_value" in best and "model.lora.rank" in best


@pytest.mark.parametrize("ranks", ["0,1", "0"])
def test_an_optuna_search_with_a_failed_trial_goes_on_then_exits_1_after_its_summary(tiny_data_dir, tmp_path, ranks):
    sweep_dir = tmp_path / "search"
    args = [
        *tiny_run_overrides(tiny_data_dir),
        "model=lora_textclassifier",
        "trainer.max_epochs=1",
        "hparams_search=lora_optuna",
        f"hydra.sweeper.n_trials={len(ranks.split(','))}",
        f"hydra.sweeper.params={{model.lora.rank:'choice({ranks})'}}",  # rank 0 fails at the config schema
        "model.lora.alpha=1",  # the other searched keys fixed: two trials take ranks 0 and 1, not 1 twice
        "model.freeze_embeddings=false",
        f"hydra.sweep.dir={sweep_dir}",
    ]
    result = run_train(args, tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
    rows = list(csv.DictReader((sweep_dir / "summary.csv").open()))
    failed = [row["job"] for row in rows if row["status"].startswith("failed") and "model.lora.rank=0" in row["status"]]
    assert len(failed) == 1 and len(rows) == len(ranks.split(","))
    why = sweep_dir / failed[0] / "failure.json"
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ")
    assert_names(last, f"1 of {len(rows)}", why)
    # the study has the trial as failed; the best trial is the one that finished, if any
    assert (sweep_dir / "optimization_results.yaml").is_file() == (len(rows) == 2)


def test_submitit_local_runs_a_sweep_as_slurm_would_and_it_ends_with_its_summary(tiny_data_dir, tmp_path):
    """submitit's local executor pickles each job and runs it in a process of its own, with the job
    folders SLURM gets; the summary is written by the sweep's own process once every job is back."""
    sweep_dir = tmp_path / "sweep"
    args = [
        "-m",
        *tiny_run_overrides(tiny_data_dir),
        "model=lora_textclassifier",
        "model.lora.rank=1,2",
        "trainer.max_epochs=1",
        "hydra/launcher=slurm_local",
        f"hydra.sweep.dir={sweep_dir}",
    ]
    result = run_train(args, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    printed = result.stdout + result.stderr
    assert f"Submitit 'local' sweep output dir : {sweep_dir}" in printed
    assert f"sweep: 2 of 2 jobs finished; summary: {sweep_dir / 'summary.md'}" in printed
    rows = list(csv.DictReader((sweep_dir / "summary.csv").open()))
    assert [(r["job"], r["overrides"], r["status"]) for r in rows] == [
        ("0", "model.lora.rank=1", "ok"),
        ("1", "model.lora.rank=2", "ok"),
    ]
    for row in rows:
        metrics = json.loads((sweep_dir / row["job"] / "metrics.json").read_text())
        assert [float(row[key]) for key in ("val/acc_best", "test/acc")] == [
            metrics["val/acc_best"],
            metrics["test/acc"],
        ]
    assert "| model.lora.rank=2 |" in (sweep_dir / "summary.md").read_text()

    # submitit's own files, as on SLURM: <sweep>/.submitit/<job id>/<job id>_0_log.out and .err
    job_ids = sorted(p.name for p in (sweep_dir / ".submitit").iterdir() if p.name.isdigit())
    logs = [(sweep_dir / ".submitit" / job_id / f"{job_id}_0_log.out").read_text() for job_id in job_ids]
    assert all(f"JobEnvironment(job_id={job_id}," in log for job_id, log in zip(job_ids, logs))
    assert all("Job completed successfully" in log for log in logs)
    assert sorted(log.split("run folder: ")[1].split()[0] for log in logs) == [str(sweep_dir / j) for j in ("0", "1")]
    assert all((sweep_dir / ".submitit" / job_id / f"{job_id}_0_log.err").is_file() for job_id in job_ids)


def test_a_submitit_job_killed_without_a_result_is_recorded_as_failed_and_the_others_kept(tmp_path):
    """As a job SLURM kills at its time limit: no result file; the sweep must still reach its summary."""
    import submitit

    executor = submitit.LocalExecutor(folder=tmp_path / ".submitit" / "%j")
    executor.update_parameters(timeout_min=1)
    overrides = [["model.lora.rank=1"], ["model.lora.rank=2"]]
    jobs = [
        executor.submit(JobReturn, overrides=overrides[0], status=JobStatus.COMPLETED, _return_value=0.75),
        executor.submit(signal.raise_signal, signal.SIGKILL),
    ]
    jobs[1]._results_timeout_s = 0  # not 15 s for a slow shared file system to show a result (as submitit's tests)
    returns = job_returns(jobs, overrides, lambda index: tmp_path / str(index))
    assert [r.return_value for r in returns] == [0.75, None]  # None: what a job that records its failure returns
    failure = json.loads((tmp_path / "1" / FAILURE_FILE).read_text())
    assert failure["error"] == "JobKilled"
    assert_names(failure["message"], "without a result", jobs[1].paths.stderr)
    assert list(OmegaConf.load(tmp_path / "1" / ".hydra" / "overrides.yaml")) == overrides[1]
    assert not (tmp_path / "0").exists()  # a job with a result is left as it wrote its folder
    assert failed_jobs_line(tmp_path) == f"error: 1 of 1 sweep jobs failed; why: {tmp_path / '1' / FAILURE_FILE}"
    assert sweep_rows(tmp_path)[0]["status"].startswith("failed: JobKilled: the job ended without a result")


def test_slurm_launcher_config_composes_to_submitit(tiny_data_dir, tmp_path):
    cfg = compose_train_config(
        tmp_path / "run", tiny_run_overrides(tiny_data_dir) + ["hydra/launcher=slurm", "trainer=ddp"]
    )
    # the plugin's SlurmLauncher with loralab's rule for a job killed without a result
    assert cfg.hydra.launcher._target_ == "hydra_plugins.loralab_submitit.launchers.SlurmLauncher"
    launcher = get_class(cfg.hydra.launcher._target_)
    assert issubclass(launcher, RecordsKilledJobs) and issubclass(launcher, submitit_launcher.SlurmLauncher)
    assert cfg.hydra.launcher.gpus_per_node == 1 and cfg.hydra.launcher.timeout_min == 120
    assert cfg.trainer.strategy == "ddp"
