"""What a sweep costs beyond training: wall time against the sum of the jobs' fit times
(``train_seconds`` in each metrics.json; ``test_seconds`` is each job's test pass).

Two sweeps, each run as one ``train.py -m`` with loralab's sweeper (``hparams_search=grid``, the
default: each job's config composed once per set of group choices) and, side by side, with Hydra's
own basic sweeper (``hydra/sweeper=basic``), both with a warm token cache:

- ``--sweep rank_alpha`` (default): 12 short jobs, LoRA rank x alpha, one IMDb epoch each; also
  with a cold token cache, and as 12 separate ``python train.py`` runs (a shell loop).
- ``--sweep variants --base <AG News run>``: ``experiment=sweep_lora_variants``, 96 jobs of the
  transfer recipe (variant x init x rank x seed, 2 epochs each).

``python benchmarks/bench_sweep.py --data-dir $LORALAB_DATA_DIR [--sweep variants --base <run>] [--json out.json]``
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import machine, print_table, write_json

ROOT = Path(__file__).resolve().parents[1]
RANKS, ALPHAS = (1, 2, 4, 8), (1, 8, 16)
QUIET = ["trainer.enable_progress_bar=false", "callbacks.progress_bar=null"]
HYDRA_BASIC = "hydra/sweeper=basic"


def run(args: list[str], cache_dir: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "train.py", *args],
        cwd=ROOT,
        check=True,
        capture_output=True,
        env={**os.environ, "LORALAB_CACHE_DIR": str(cache_dir)},
    )
    return time.perf_counter() - started


def job_metrics(sweep_dir: Path) -> list[dict]:
    return [json.loads(path.read_text()) for path in sorted(sweep_dir.glob("*/metrics.json"))]


def table_row(name: str, wall: float, metrics: list[dict]) -> dict:
    fit = sum(m["train_seconds"] for m in metrics)
    test = sum(m.get("test_seconds", 0.0) for m in metrics)
    return {
        "run": name,
        "jobs": len(metrics),
        "wall s": wall,
        "sum of fit s": fit,
        "sum of test s": test,
        "wall / fit": wall / fit,
        "(wall - test) / fit": (wall - test) / fit,
    }


def multirun_row(name: str, args: list[str], sweep_dir: Path, cache_dir: Path) -> dict:
    wall = run(["-m", *args, f"hydra.sweep.dir={sweep_dir}"], cache_dir)
    return table_row(name, wall, job_metrics(sweep_dir))


def rank_alpha_rows(data_dir: str, tmp: Path) -> list[dict]:
    base = [
        "data=imdb",
        "model=lora_textclassifier",
        "data.group_by_length=true",
        f"paths.data_dir={data_dir}",
        "trainer.max_epochs=1",
        *QUIET,
    ]
    grid = list(itertools.product(RANKS, ALPHAS))
    sweep = [*base, f"model.lora.rank={','.join(map(str, RANKS))}", f"model.lora.alpha={','.join(map(str, ALPHAS))}"]
    cache = tmp / "cache_multirun"
    rows = [
        multirun_row(f"train.py -m, {len(grid)} jobs, cold token cache", sweep, tmp / "cold", cache),
        multirun_row(f"train.py -m, {len(grid)} jobs, warm token cache", sweep, tmp / "warm", cache),
        multirun_row(f"the same with Hydra's basic sweeper ({HYDRA_BASIC})", [*sweep, HYDRA_BASIC], tmp / "basic", cache),
    ]
    loop_dirs = [tmp / "loop" / f"{rank}_{alpha}" for rank, alpha in grid]
    loop_wall = sum(
        run([*base, f"model.lora.rank={rank}", f"model.lora.alpha={alpha}", f"hydra.run.dir={job_dir}"], tmp / "cache_loop")
        for (rank, alpha), job_dir in zip(grid, loop_dirs)
    )
    loop_metrics = [json.loads((d / "metrics.json").read_text()) for d in loop_dirs]
    return [*rows, table_row(f"{len(grid)} separate train.py runs", loop_wall, loop_metrics)]


def variants_rows(data_dir: str, base_run: str, tmp: Path) -> list[dict]:
    sweep = ["experiment=sweep_lora_variants", f"model.pretrained={base_run}", f"paths.data_dir={data_dir}", *QUIET]
    cache = tmp / "cache_variants"
    # One job per seed first (each seed splits off its own validation rows), so that both sweeps
    # below find every split tokenized in the cache.
    warm_up = ["model.lora.variant=lora", "model.lora.init=default", "model.lora.rank=1", "seed=1,2,3"]
    run(["-m", *sweep, *warm_up, f"hydra.sweep.dir={tmp / 'warm_up'}"], cache)
    return [
        multirun_row("experiment=sweep_lora_variants, loralab's sweeper", sweep, tmp / "variants", cache),
        multirun_row(f"the same with Hydra's basic sweeper ({HYDRA_BASIC})", [*sweep, HYDRA_BASIC], tmp / "basic", cache),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True, help="folder with imdb/train.parquet and imdb/test.parquet")
    parser.add_argument("--sweep", choices=["rank_alpha", "variants"], default="rank_alpha")
    parser.add_argument("--base", help="--sweep variants: the AG News run (experiment=agnews_pretrain_imdb_vocab)")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    if args.sweep == "variants" and not args.base:
        parser.error("--sweep variants needs --base <AG News run folder>")
    tmp = Path(tempfile.mkdtemp(prefix="bench_sweep_"))
    rows = variants_rows(args.data_dir, args.base, tmp) if args.sweep == "variants" else rank_alpha_rows(args.data_dir, tmp)
    print_table(rows, ["run", "jobs", "wall s", "sum of fit s", "sum of test s", "wall / fit", "(wall - test) / fit"])
    write_json(args.json, {"machine": machine(), "sweep": args.sweep, "rows": rows})


if __name__ == "__main__":
    main()
