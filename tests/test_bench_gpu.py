"""``benchmarks/bench_gpu.py --tiny`` runs every row end to end on the CPU, so that the one GPU run
it is written for does not fail on a code path nobody ran."""

import json
import os
import subprocess
import sys

import pytest
from helpers.paths import PROJECT_ROOT
from helpers.tiny_backbone import save_tiny_distilbert
from helpers.tiny_data import sentiment_rows, write_parquet

# Runs the entry points in subprocesses: the full suite, not the fast tier (CONTRIBUTING.md).
pytestmark = pytest.mark.integration

# The compiled rows run the same code with model.compile=true (tested in test_peft_models.py); on
# two CPU cores their compilation alone would take minutes.
ROWS_BUT_COMPILED = [
    "hf-lab",
    "hf-tuned",
    "hf-tuned-x64",
    "loralab-64",
    "loralab-64-fast",
    "loralab-64-bf16-base",
    "loralab-256",
    "loralab-256-fused",
    "loralab-256-buckets",
    "loralab-256-fused-buckets",
    "loralab-256-bf16-base",
]


def test_tiny_gpu_benchmark_runs_every_section_on_cpu(tmp_path):
    write_parquet(tmp_path / "imdb" / "train.parquet", sentiment_rows(300, seed=1))
    # One thread: two OpenMP threads on a busy two-core machine stall each other many times over.
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    command = [
        sys.executable,
        "benchmarks/bench_gpu.py",
        "--tiny",
        "--data-dir",
        str(tmp_path),
        "--json",
        str(tmp_path / "out.json"),
        "--steps",
        "3",
        "--warmup-steps",
        "1",
        "--rows",
        ",".join(ROWS_BUT_COMPILED),
        "--memory",
        "--model-dir",
        str(save_tiny_distilbert(tmp_path / "pretrained")),
    ]
    result = subprocess.run(
        command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300, env=env, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    result = json.loads((tmp_path / "out.json").read_text())
    assert [row["run"] for row in result["memory"]["rows"]] == [
        "full fine-tuning",
        "LoRA q,k,v + head",
        "LoRA q,k,v + head, gradient checkpointing",
        "LoRA q,k,v + head, bf16 base",
        "LoRA q,k,v + head, bf16 base, gradient checkpointing",
        "full fine-tuning, gradient checkpointing",
    ]
    assert [row["run"].split(" (")[0] for row in result["accuracy"]] == [
        "loralab, batch 16",
        "loralab, batch 64, lr x4",
        "loralab, batch 64, lr x4, bf16 base",
        "HF Trainer, lab settings",
    ]
    assert all(0 <= row["held-out acc"] <= 1 for row in result["accuracy"])
    trainable = [row["trainable params"] for row in result["memory"]["rows"]]
    assert (
        trainable[1] == trainable[2] == trainable[3] == trainable[4] < trainable[0] == trainable[5]
    )  # levers train the same weights
    rows = result["rows"]
    assert [row["key"] for row in rows] == ROWS_BUT_COMPILED
    assert [row["error"] for row in rows if "error" in row] == []
    assert all(row["samples/s"] > 0 and row["timed steps"] == 3 and row["warm-up s"] > 0 for row in rows)
    assert {row["precision"] for row in rows if "bf16-base" in row["key"]} == {"bf16 base, fp32 LoRA"}
    padding = {row["key"]: row["padding %"] for row in rows}
    assert padding["loralab-256-buckets"] > padding["loralab-256"]  # the lengths-to-x64 lever reached the batches
    assert padding["hf-tuned-x64"] > padding["hf-tuned"]
