"""Hydra's and Lightning's own machinery runs loralab unchanged: jobs in parallel (joblib), a
resumable Optuna search, DDP over two CPU processes, and a SLURM launcher config."""

import csv
import json

import pytest
from helpers.messages import assert_names
from helpers.paths import PROJECT_ROOT
from helpers.tiny_data import assert_learned
from helpers.train_configs import compose_train_config, tiny_run_overrides
from omegaconf import OmegaConf
from test_sweep_summary import run_train

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


def test_ddp_trains_over_two_cpu_processes(tiny_data_dir, tmp_path):
    run_dir = tmp_path / "ddp"
    args = [
        *tiny_run_overrides(tiny_data_dir),
        "trainer=ddp",
        "trainer.accelerator=cpu",
        "trainer.devices=2",
        f"hydra.run.dir={run_dir}",
    ]
    result = run_train(args, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["world_size"] == 2
    assert_learned(metrics)
    assert (run_dir / "train_ddp_process_1.log").is_file()  # the second process, started by Lightning


def test_slurm_launcher_config_composes_to_submitit(tiny_data_dir, tmp_path):
    cfg = compose_train_config(
        tmp_path / "run", tiny_run_overrides(tiny_data_dir) + ["hydra/launcher=slurm", "trainer=ddp"]
    )
    assert cfg.hydra.launcher._target_ == "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"
    assert cfg.hydra.launcher.gpus_per_node == 1 and cfg.hydra.launcher.timeout_min == 120
    assert cfg.trainer.strategy == "ddp"
