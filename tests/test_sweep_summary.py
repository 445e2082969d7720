"""A real ``train.py -m`` sweep survives a failing job, writes its summary (table and plot), can be
rebuilt from the folder, and serves its runs, scalars and hparams through a real TensorBoard."""

import csv
import os
import shutil
import subprocess
import sys

import pytest
from conftest import PROJECT_ROOT, tiny_run_overrides, write_tiny_data

from loralab.runs.tensorboard_server import get_json, tensorboard_server


def run_train(args, tmp_path, timeout=600):
    """``train.py`` as a user runs it, offline, with its own cache."""
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "LORALAB_CACHE_DIR": str(tmp_path / "cache"),
    }
    return subprocess.run(
        [sys.executable, "train.py", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=timeout, env=env
    )


@pytest.fixture(scope="module")
def finished_sweep(tmp_path_factory):
    """Four tiny LoRA jobs over the rank, the last one (rank 0) failing."""
    tmp_path = tmp_path_factory.mktemp("sweep")
    sweep_dir = tmp_path / "sweep"
    overrides = tiny_run_overrides(write_tiny_data(tmp_path / "data")) + [
        "model=lora_textclassifier",
        "model.lora.rank=1,2,4,0",
        "trainer.max_epochs=1",
        f"hydra.sweep.dir={sweep_dir}",
    ]
    result = run_train(["-m", *overrides], tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    return sweep_dir


def test_multirun_summary_has_every_job_and_a_plot(finished_sweep):
    rows = list(csv.DictReader((finished_sweep / "summary.csv").open()))
    assert [(r["job"], r["overrides"], r["status"]) for r in rows] == [
        ("0", "model.lora.rank=1", "ok"),
        ("1", "model.lora.rank=2", "ok"),
        ("2", "model.lora.rank=4", "ok"),
        (
            "3",
            "model.lora.rank=0",
            "failed: ConfigValueError: model.lora.rank=0 is not allowed: use an integer >= 1",
        ),
    ]
    assert [r["rank"] for r in rows] == ["1", "2", "4", "0"] and {r["alpha"] for r in rows} == {"1.0"}
    # rank 1 on fc1 (16 -> 8) = 24 adapter parameters, rank 2 = 48; plus the 18-parameter head
    assert [int(r["trainable_params"]) for r in rows[:2]] == [24 + 18, 48 + 18]
    assert "Traceback" in (finished_sweep / "3" / "traceback.txt").read_text()
    assert (finished_sweep / "summary.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (
        float(rows[0]["test/acc"]) > 0
        and "| 1 | model.lora.rank=2 | ok |" in (finished_sweep / "summary.md").read_text()
    )


def test_the_summary_rebuilds_from_a_sweep_with_a_killed_job(finished_sweep, tmp_path):
    sweep_dir = shutil.copytree(finished_sweep, tmp_path / "copy")
    (sweep_dir / "1" / "metrics.json").unlink()  # as if job 1 had been killed
    rebuilt = subprocess.run(
        [sys.executable, "-m", "loralab.sweeps.summary", str(sweep_dir)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert rebuilt.returncode == 0, rebuilt.stderr[-2000:]
    rows = list(csv.DictReader((sweep_dir / "summary.csv").open()))
    assert [r["status"][:15] for r in rows] == ["ok", "no metrics.json", "ok", "failed: ConfigV"]
    assert rows[1]["test/acc"] == ""


def test_tensorboard_serves_the_sweep_runs_scalars_and_hparams(finished_sweep):
    with tensorboard_server(finished_sweep, min_runs=3) as url:
        base = f"{url}/data"
        runs = get_json(f"{base}/runs")
        assert sorted(runs) == ["0/tensorboard", "1/tensorboard", "2/tensorboard"]  # the failed job logged nothing
        tags = get_json(f"{base}/plugin/scalars/tags")
        assert {"val/acc_best", "test/acc", "train/loss_epoch"} <= set(tags["0/tensorboard"])
        experiment = get_json(f"{base}/plugin/hparams/experiment", {"experimentName": ""})
        hparams = {h["name"] for h in experiment["hparamInfos"]}
        metrics = {m["name"]["tag"] for m in experiment["metricInfos"]}
        assert {"model.lora.rank", "model.lora.alpha", "optim.optimizer.lr"} <= hparams
        assert {"val/acc_best", "test/acc"} <= metrics and "hp_metric" not in metrics
        groups = get_json(
            f"{base}/plugin/hparams/session_groups",
            {
                "experimentName": "",
                "allowedStatuses": ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"],
                "colParams": [],
                "startIndex": 0,
                "sliceSize": 100,
            },
        )
        ranks = sorted(group["hparams"]["model.lora.rank"] for group in groups["sessionGroups"])
        assert ranks == [1, 2, 4]
        test_acc = [
            m["value"] for g in groups["sessionGroups"] for m in g["metricValues"] if m["name"]["tag"] == "test/acc"
        ]
        assert len(test_acc) == 3 and all(0 < value <= 1 for value in test_acc)
