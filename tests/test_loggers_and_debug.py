"""The logger and debug presets users know from lightning-hydra-template, on tiny runs."""

import csv
import importlib.util
import json

import pytest
from helpers.train_configs import compose_train_config, tiny_run_overrides

from loralab.training.experiment import train

DEBUG_PRESETS = {
    "fdr": {"fast_dev_run": True},
    "overfit": {"overfit_batches": 3},
    "limit": {"limit_train_batches": 0.01, "limit_test_batches": 0.05},
    "profiler": {"profiler": "simple"},
}  # (max_epochs too, but the command line's trainer.max_epochs wins)


@pytest.mark.parametrize("preset", DEBUG_PRESETS)
def test_debug_presets_set_the_trainer_on_one_cpu_process(tmp_path, tiny_data_dir, preset):
    cfg = compose_train_config(tmp_path / "run", tiny_run_overrides(tiny_data_dir) + [f"debug={preset}"])
    assert {key: cfg.trainer[key] for key in DEBUG_PRESETS[preset]} == DEBUG_PRESETS[preset]
    assert cfg.task_name == "debug" and cfg.trainer.accelerator == "cpu" and cfg.trainer.detect_anomaly


@pytest.mark.parametrize("override", ["debug=fdr", "trainer.fast_dev_run=true"])
def test_a_fast_dev_run_without_checkpoints_still_tests_and_writes_metrics(tmp_path, tiny_data_dir, override):
    run_dir = tmp_path / "run"
    metrics = train(compose_train_config(run_dir, tiny_run_overrides(tiny_data_dir) + [override]))
    assert not list(run_dir.glob("checkpoints/epoch_*.ckpt"))  # fast_dev_run saves no best checkpoint to restore
    assert json.loads((run_dir / "metrics.json").read_text()) == metrics
    assert {"val/acc_best", "test/acc"} <= set(metrics) and (run_dir / "vocab.json").is_file()


def test_debug_overfit_runs_without_a_checkpoint_callback(tmp_path, tiny_data_dir):
    run_dir = tmp_path / "run"
    overrides = tiny_run_overrides(tiny_data_dir) + ["debug=overfit", "trainer.max_epochs=2"]
    metrics = train(compose_train_config(run_dir, overrides))
    assert metrics["epochs"] == 2 and "test/acc" in metrics and not (run_dir / "checkpoints").exists()


def test_logger_many_writes_tensorboard_and_csv(tmp_path, tiny_data_dir):
    run_dir = tmp_path / "run"
    train(compose_train_config(run_dir, tiny_run_overrides(tiny_data_dir) + ["logger=many"]))
    assert list((run_dir / "tensorboard").glob("events.out.tfevents.*"))
    rows = list(csv.DictReader((run_dir / "csv" / "metrics.csv").open()))
    val_acc = [float(row["val/acc"]) for row in rows if row.get("val/acc")]
    assert len(val_acc) == 2 and any(row.get("test/acc") for row in rows)


def test_logger_csv_alone_has_no_tensorboard(tmp_path, tiny_data_dir):
    run_dir = tmp_path / "run"
    train(compose_train_config(run_dir, tiny_run_overrides(tiny_data_dir) + ["logger=csv"]))
    assert (run_dir / "csv" / "metrics.csv").is_file() and not (run_dir / "tensorboard").exists()


@pytest.mark.skipif(
    importlib.util.find_spec("mlflow") is None, reason="mlflow is not installed (pip install .[mlflow])"
)
def test_logger_mlflow_run_reads_back_through_mlflow(tmp_path, tiny_data_dir):
    from mlflow.tracking import MlflowClient

    run_dir = tmp_path / "sweep" / "0"
    metrics = train(compose_train_config(run_dir, tiny_run_overrides(tiny_data_dir) + ["logger=mlflow"]))
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'sweep' / 'mlflow.db'}")
    (run,) = client.search_runs([client.get_experiment_by_name("train").experiment_id])
    assert run.data.tags["run_folder"] == str(run_dir)
    assert run.data.metrics["test/acc"] == pytest.approx(metrics["test/acc"])
    assert [m.step for m in client.get_metric_history(run.info.run_id, "val/acc")] == [11, 23]  # 2 epochs of 12 steps


@pytest.mark.skipif(importlib.util.find_spec("wandb") is None, reason="wandb is not installed")
def test_logger_wandb_writes_an_offline_run_in_the_run_folder(tmp_path, tiny_data_dir, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    run_dir = tmp_path / "run"
    train(compose_train_config(run_dir, tiny_run_overrides(tiny_data_dir) + ["logger=wandb"]))
    assert list((run_dir / "wandb").glob("offline-run-*"))


def test_logger_null_on_the_command_line_means_no_logger(monkeypatch, capsys):
    """Hydra refuses null as a group's option with a traceback; train.py reads it as ``~logger``."""
    from helpers.entry_points import run_in_process

    composed = run_in_process(monkeypatch, capsys, "train.py", "logger=null", "data=ag_news", "--cfg", "job")
    assert composed.returncode == 0, composed.stderr[-2000:]
    assert "\nlogger: null\n" in composed.stdout
    assert "name: ag_news" in composed.stdout  # the other overrides as given
