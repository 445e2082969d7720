"""What a sweep costs beyond training: 12 short jobs (LoRA rank x alpha, one IMDb epoch each) run
as one ``train.py -m`` multirun (with a cold token cache, then again with it warm), against the same
12 jobs as separate ``python train.py`` runs (a shell loop; the first tokenizes). Reports wall time
against the sum of the jobs' fit times (``train_seconds`` in each metrics.json).
``python benchmarks/bench_sweep.py --data-dir $LORALAB_DATA_DIR [--json out.json]``
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

from loralab.sweeps.job_folders import job_folder_name

ROOT = Path(__file__).resolve().parents[1]
RANKS, ALPHAS = (1, 2, 4, 8), (1, 8, 16)


def common_overrides(data_dir: str) -> list[str]:
    return [
        "data=imdb",
        "model=lora_textclassifier",
        "data.group_by_length=true",
        f"paths.data_dir={data_dir}",
        "trainer.max_epochs=1",
        "trainer.enable_progress_bar=false",
        "callbacks.progress_bar=null",
    ]


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


def fit_seconds(job_dirs: list[Path]) -> float:
    return sum(json.loads((d / "metrics.json").read_text())["train_seconds"] for d in job_dirs)


def table_row(name: str, wall: float, fit: float) -> dict:
    return {"run": name, "wall s": wall, "sum of fit s": fit, "wall / fit": wall / fit}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True, help="folder with imdb/train.parquet and imdb/test.parquet")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_sweep_"))
    base = common_overrides(args.data_dir)
    grid = list(itertools.product(RANKS, ALPHAS))

    sweep_args = [
        *base,
        f"model.lora.rank={','.join(map(str, RANKS))}",
        f"model.lora.alpha={','.join(map(str, ALPHAS))}",
    ]
    multirun_rows = []
    for cache in ("cold", "warm"):  # warm: the same cache again, as every sweep after the first finds it
        sweep_dir = tmp / f"multirun_{cache}"
        wall = run(["-m", *sweep_args, f"hydra.sweep.dir={sweep_dir}"], tmp / "cache_multirun")
        fit = fit_seconds([sweep_dir / job_folder_name(i, len(grid)) for i in range(len(grid))])
        multirun_rows.append(table_row(f"train.py -m, {len(grid)} jobs, {cache} token cache", wall, fit))

    loop_dirs = [tmp / "loop" / f"{rank}_{alpha}" for rank, alpha in grid]
    loop_wall = sum(
        run(
            [*base, f"model.lora.rank={rank}", f"model.lora.alpha={alpha}", f"hydra.run.dir={job_dir}"],
            tmp / "cache_loop",
        )
        for (rank, alpha), job_dir in zip(grid, loop_dirs)
    )
    loop_fit = fit_seconds(loop_dirs)
    rows = [
        *multirun_rows,
        table_row(f"{len(grid)} separate train.py runs", loop_wall, loop_fit),
    ]
    print_table(rows, ["run", "wall s", "sum of fit s", "wall / fit"])
    write_json(
        args.json,
        {
            "machine": machine(),
            "rows": rows,
            "jobs": len(grid),
            "multirun_wall_over_fit": multirun_rows[0]["wall / fit"],
            "multirun_warm_wall_over_fit": multirun_rows[1]["wall / fit"],
        },
    )


if __name__ == "__main__":
    main()
