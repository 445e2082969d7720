"""``benchmarks/gpu_acceptance.py --tiny`` runs parts (a), (b) and (c) end to end on the CPU, so that
the one GPU run it is written for does not fail on a code path nobody ran."""

import json
import os
import subprocess
import sys

import pytest
from helpers.paths import PROJECT_ROOT

# Runs the entry points in subprocesses: the full suite, not the fast tier (CONTRIBUTING.md).
pytestmark = pytest.mark.integration


def run_acceptance(tmp_path, *args: str) -> dict:
    # One thread: two OpenMP threads on a busy two-core machine stall each other many times over.
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    out = tmp_path / "out.json"
    command = [
        sys.executable,
        "benchmarks/gpu_acceptance.py",
        "--tiny",
        "--work-dir",
        str(tmp_path / "work"),
        "--json",
        str(out),
        *args,
    ]
    result = subprocess.run(
        command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=1800, env=env, check=False
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return json.loads(out.read_text())


def test_tiny_acceptance_trains_the_full_run_and_the_8_job_sweep(tmp_path):
    result = run_acceptance(tmp_path)
    full, sweep = result["results"]
    assert full["run"].startswith("(a)") and 0.0 <= full["test/acc"] <= 1.0
    assert full["epochs"] == 1 and full["goal"] == 0.91 and full["met"] == (full["test/acc"] >= 0.91)
    assert (tmp_path / "work" / "a_full_imdb" / "metrics.json").is_file()

    assert sweep["jobs"] == sweep["jobs ok"] == 8
    grid = {(row["rank"], row["alpha"], row["freeze_embeddings"]) for row in sweep["rows"]}
    assert grid == {(rank, alpha, frozen) for rank in (4, 16) for alpha in (8.0, 32.0) for frozen in (True, False)}
    assert sweep["sum of fit s"] == sum(row["train_seconds"] for row in sweep["rows"])
    assert sweep["wall s"] > sweep["sum of fit s"] > 0 and sweep["wall / fit"] > 1
    assert (tmp_path / "work" / "b_sweep" / "summary.md").is_file()
    assert result["part"] == "ab" and result["machine"]["torch"]


def test_tiny_acceptance_times_bench_gpu_as_a_separate_part(tmp_path):
    result = run_acceptance(tmp_path, "--part", "c", "--bench-gpu-args", "--rows loralab-64 --steps 2 --warmup-steps 1")
    (bench,) = result["results"]
    assert bench["run"].startswith("(c)") and "error" not in bench
    assert bench["rows"] == 1 and bench["wall s"] > 0
    assert json.loads((tmp_path / "work" / "c_bench_gpu.json").read_text())["rows"][0]["key"] == "loralab-64"
