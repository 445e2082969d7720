"""A real ``train.py -m`` sweep survives a failing job and writes its summary, which can be rebuilt from the folder."""

import csv
import subprocess
import sys

from conftest import PROJECT_ROOT, tiny_run_overrides


def test_multirun_writes_a_summary_and_it_rebuilds_without_a_job(tiny_data_dir, tmp_path):
    sweep_dir = tmp_path / "sweep"
    overrides = tiny_run_overrides(tiny_data_dir) + [
        "model=lora_textclassifier", "model.lora.rank=1,2,4,0", "trainer.max_epochs=1", f"hydra.sweep.dir={sweep_dir}",
    ]
    result = subprocess.run(
        [sys.executable, "train.py", "-m", *overrides], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-2000:]
    rows = list(csv.DictReader((sweep_dir / "summary.csv").open()))
    assert [(r["job"], r["overrides"], r["status"]) for r in rows] == [
        ("0", "model.lora.rank=1", "ok"),
        ("1", "model.lora.rank=2", "ok"),
        ("2", "model.lora.rank=4", "ok"),
        ("3", "model.lora.rank=0", "failed: ValueError: LoRA rank must be a positive integer, got 0; set model.lora.rank >= 1"),
    ]
    assert [r["rank"] for r in rows] == ["1", "2", "4", "0"] and {r["alpha"] for r in rows} == {"1.0"}
    # rank 1 on fc1 (16 -> 8) = 24 adapter parameters, rank 2 = 48; plus the 18-parameter head
    assert [int(r["trainable_params"]) for r in rows[:2]] == [24 + 18, 48 + 18]
    assert "Traceback" in (sweep_dir / "3" / "traceback.txt").read_text()
    assert (sweep_dir / "summary.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert float(rows[0]["test/acc"]) > 0 and "| 1 | model.lora.rank=2 | ok |" in (sweep_dir / "summary.md").read_text()

    (sweep_dir / "1" / "metrics.json").unlink()  # as if job 1 had been killed
    rebuilt = subprocess.run(
        [sys.executable, "-m", "loralab.sweep_summary", str(sweep_dir)], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120
    )
    assert rebuilt.returncode == 0, rebuilt.stderr[-2000:]
    rows = list(csv.DictReader((sweep_dir / "summary.csv").open()))
    assert [r["status"][:15] for r in rows] == ["ok", "no metrics.json", "ok", "failed: ValueEr"]
    assert rows[1]["test/acc"] == ""
