"""The transformer path's acceptance run on one GPU, as users run it (``train.py``, default settings):

    (a) ``model=lora_bert trainer=gpu`` with the MiniLM on the full IMDb train and test: test accuracy
        (goal >= 0.91);
    (b) an 8-job sweep, rank {4, 16} x alpha {8, 32} x frozen/unfrozen embeddings, on seeded subsets of
        5,000 train and 5,000 test reviews: its summary, wall time against the sum of the jobs' fit times;
    (c) ``bench_gpu.py``'s default run, timed whole (``--part c``: a separate invocation, GPU time is scarce).

    python benchmarks/gpu_acceptance.py --model-dir DIR --data-dir DIR [--json out.json]          # (a) and (b)
    python benchmarks/gpu_acceptance.py --part c --data-dir DIR [--json out.json]                 # (c)
    python benchmarks/gpu_acceptance.py --tiny [--work-dir DIR]      # the same code path on a CPU, tiny data and model

``--model-dir`` is a BERT-family folder (``all-MiniLM-L6-v2``); ``--data-dir`` holds
``imdb/{train,test}.parquet``. Every training run is a ``train.py`` subprocess, so the figures
include what a user's command costs: Python and Lightning start-up, tokenizing, checkpoints, test.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import machine, print_table, write_json

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

ACCURACY_GOAL = 0.91  # (a): full IMDb, MiniLM, the defaults
SWEEP_GRID = {"model.lora.rank": "4,16", "model.lora.alpha": "8,32", "model.freeze_embeddings": "true,false"}
SWEEP_TRAIN_SAMPLES = 5000
SWEEP_COLUMNS = ["job", "rank", "alpha", "freeze_embeddings", "status", "val/acc_best", "test/acc", "train_seconds"]

POSITIVE = ["great", "wonderful", "loved", "superb", "brilliant", "moving"]
NEGATIVE = ["awful", "boring", "hated", "dull", "terrible", "waste"]
FILLER = ["the", "movie", "film", "plot", "actors", "story", "was", "and", "a", "it"]


def tiny_reviews(n: int, seed: int) -> tuple[list[str], list[int]]:
    """Reviews whose label is given by which word list they draw from: learnable in one epoch."""
    rng = random.Random(seed)
    texts, labels = [], []
    for i in range(n):
        label = i % 2
        words = rng.choices(FILLER, k=rng.randint(3, 12)) + rng.choices(POSITIVE if label else NEGATIVE, k=2)
        rng.shuffle(words)
        texts.append(" ".join(words))
        labels.append(label)
    return texts, labels


def write_tiny_inputs(work_dir: Path) -> tuple[Path, Path]:
    """A data folder (200 train, 100 test reviews) and a 2-layer, 32-wide BERT with its WordPiece
    tokenizer: the MiniLM's family (``model=lora_bert`` targets ``query``, ``value``), seconds to train."""
    import torch
    from synthetic_distilbert import train_wordpiece_tokenizer, write_imdb_folder
    from transformers import BertConfig, BertForSequenceClassification

    train, test = tiny_reviews(200, seed=1), tiny_reviews(100, seed=2)
    data_dir = write_imdb_folder(work_dir / "data", train, test)
    model_dir = work_dir / "tiny_bert"
    tokenizer = train_wordpiece_tokenizer(train[0], vocab_size=100)
    tokenizer.save_pretrained(model_dir)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    BertForSequenceClassification(config).save_pretrained(model_dir)
    return data_dir, model_dir


def train_command(model_dir: Path, data_dir: Path, tiny: bool, *overrides: str) -> list[str]:
    """``train.py`` with ``model=lora_bert`` and the defaults; on the GPU unless ``tiny`` (then one epoch, on the CPU)."""
    return [
        sys.executable,
        "train.py",
        "model=lora_bert",
        f"model.backbone={model_dir}",
        "data=imdb",
        f"paths.data_dir={data_dir}",
        *(["trainer=cpu", "trainer.max_epochs=1"] if tiny else ["trainer=gpu"]),
        "trainer.enable_progress_bar=false",
        "callbacks.progress_bar=null",
        *overrides,
    ]


def timed(command: list[str], log_file: Path, env: dict[str, str]) -> tuple[float, int]:
    """Run ``command`` from the project root, its output to ``log_file``; (wall seconds, exit status)."""
    started = time.perf_counter()
    with log_file.open("w") as log:
        print("$", shlex.join(command), flush=True)
        status = subprocess.run(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env, check=False)
    return time.perf_counter() - started, status.returncode


def log_tail(log_file: Path, lines: int = 15) -> str:
    return "\n".join(log_file.read_text(errors="replace").splitlines()[-lines:])


def full_data_run(model_dir: Path, data_dir: Path, work_dir: Path, tiny: bool, env: dict[str, str]) -> dict[str, Any]:
    """(a): the full train and test splits, every setting at its default."""
    run_dir = work_dir / "a_full_imdb"
    wall, status = timed(
        train_command(model_dir, data_dir, tiny, f"hydra.run.dir={run_dir}"), work_dir / "a_full_imdb.log", env
    )
    if status != 0:
        return {"run": "(a) full IMDb, defaults", "error": log_tail(work_dir / "a_full_imdb.log"), "wall s": wall}
    metrics = json.loads((run_dir / "metrics.json").read_text())
    return {
        "run": "(a) full IMDb, defaults",
        "test/acc": metrics["test/acc"],
        "val/acc_best": metrics["val/acc_best"],
        "goal": ACCURACY_GOAL,
        "met": metrics["test/acc"] >= ACCURACY_GOAL,
        "epochs": metrics["epochs"],
        "train s": metrics["train_seconds"],
        "wall s": wall,
    }


def sweep_run(
    model_dir: Path, data_dir: Path, work_dir: Path, tiny: bool, train_samples: int, env: dict[str, str]
) -> dict[str, Any]:
    """(b): the 8-job grid as one ``train.py -m``; its summary and what the jobs cost beyond their fits."""
    from loralab.sweeps.summary import sweep_rows

    sweep_dir = work_dir / "b_sweep"
    grid = [f"{key}={values}" for key, values in SWEEP_GRID.items()]
    command = train_command(
        model_dir,
        data_dir,
        tiny,
        f"data.max_train_samples={train_samples}",
        f"data.max_test_samples={train_samples}",
        f"hydra.sweep.dir={sweep_dir}",
        *grid,
    )
    command.insert(2, "-m")
    wall, status = timed(command, work_dir / "b_sweep.log", env)
    rows = sweep_rows(sweep_dir) if sweep_dir.is_dir() else []
    jobs = len(rows)
    fit = sum(row.get("train_seconds") or 0.0 for row in rows)
    result = {
        "run": f"(b) sweep, {jobs} jobs, {train_samples:,} train / test reviews",
        "jobs": jobs,
        "jobs ok": sum(row.get("status") == "ok" for row in rows),
        "wall s": wall,
        "sum of fit s": fit,
        "wall / fit": wall / fit if fit else None,
        "outside fit s per job": (wall - fit) / jobs if jobs else None,
        "summary": str(sweep_dir / "summary.md"),
        "rows": rows,
    }
    if status != 0:
        result["error"] = log_tail(work_dir / "b_sweep.log")
    return result


def bench_gpu_run(data_dir: Path, work_dir: Path, extra: list[str], env: dict[str, str]) -> dict[str, Any]:
    """(c): ``bench_gpu.py``'s default run, timed whole; its own table and JSON are in the log and ``c_bench_gpu.json``."""
    out = work_dir / "c_bench_gpu.json"
    command = [sys.executable, "benchmarks/bench_gpu.py", "--data-dir", str(data_dir), "--json", str(out), *extra]
    wall, status = timed(command, work_dir / "c_bench_gpu.log", env)
    result = {"run": "(c) bench_gpu.py, default run", "wall s": wall, "bench_gpu": str(out)}
    if status != 0:
        result["error"] = log_tail(work_dir / "c_bench_gpu.log")
    elif out.is_file():
        result["rows"] = len(json.loads(out.read_text()).get("rows", []))
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", help="a BERT-family folder, e.g. all-MiniLM-L6-v2 (parts a and b)")
    parser.add_argument("--data-dir", help="folder with imdb/train.parquet and imdb/test.parquet")
    parser.add_argument("--part", choices=["ab", "c"], default="ab", help="ab: (a) and (b); c: bench_gpu.py alone")
    parser.add_argument("--json", help="also write the figures here")
    parser.add_argument("--work-dir", help="run folders and logs (default: a new temporary folder)")
    parser.add_argument("--tiny", action="store_true", help="tiny data and model, on the CPU: checks the code path")
    parser.add_argument("--bench-gpu-args", default="", help="extra arguments for bench_gpu.py in part c")
    args = parser.parse_args()

    work_dir = Path(args.work_dir or tempfile.mkdtemp(prefix="gpu_acceptance_")).resolve()
    work_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "LORALAB_CACHE_DIR": str(work_dir / "cache"), "PYTHONUNBUFFERED": "1"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))
    if args.tiny:
        data_dir, model_dir = write_tiny_inputs(work_dir)
        train_samples = 100
        env["HF_HUB_OFFLINE"] = "1"
    else:
        if not args.data_dir or (args.part == "ab" and not args.model_dir):
            parser.error("--data-dir (and --model-dir for part ab) are required unless --tiny")
        data_dir = Path(args.data_dir).resolve()
        model_dir = Path(args.model_dir).resolve() if args.model_dir else None
        train_samples = SWEEP_TRAIN_SAMPLES
    print(f"work folder: {work_dir}", flush=True)

    started = time.perf_counter()
    if args.part == "ab":
        results = [
            full_data_run(model_dir, data_dir, work_dir, args.tiny, env),
            sweep_run(model_dir, data_dir, work_dir, args.tiny, train_samples, env),
        ]
    else:
        extra = shlex.split(args.bench_gpu_args) + (["--tiny"] if args.tiny else [])
        results = [bench_gpu_run(data_dir, work_dir, extra, env)]
    total = time.perf_counter() - started

    print()
    print_table(
        results,
        ["run", "test/acc", "goal", "met", "wall s", "train s", "sum of fit s", "wall / fit", "outside fit s per job"],
    )
    for result in results:
        if result.get("rows") and isinstance(result["rows"], list):
            print(f"\n{result['run']}:")
            print_table(result["rows"], SWEEP_COLUMNS)
        if "error" in result:
            print(f"\n{result['run']} failed:\n{result['error']}")
    print(f"\ntotal wall s: {total:,.1f}")
    write_json(
        args.json,
        {"machine": machine(), "tiny": args.tiny, "part": args.part, "total wall s": total, "results": results},
    )
    return 1 if any("error" in result for result in results) else 0


if __name__ == "__main__":
    sys.exit(main())
