"""One table per sweep: ``summary.csv``, ``summary.md`` and ``summary.png`` in the sweep folder.

Written by a Hydra callback when a multirun ends, and rebuilt from any sweep folder, a killed one
included, with ``python -m loralab.sweeps.summary <sweep folder>``.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from loralab.atomic_files import atomic_write_text
from loralab.cli_errors import first_line, run_cli
from loralab.runs.run_files import METRICS_FILE
from loralab.sweeps.jobs import FAILURE_FILE
from loralab.sweeps.plot import plot_sweep

log = logging.getLogger(__name__)

METRIC_COLUMNS = ["val/acc_best", "test/acc", "trainable_params", "adapter_bytes", "train_seconds"]
# Read from each job's composed config, so the plot has them whether they were swept or not.
CONFIG_COLUMNS = {
    "rank": "model.lora.rank",
    "alpha": "model.lora.alpha",
    "freeze_embeddings": "model.freeze_embeddings",
}


def _config_values(job: Path) -> dict[str, Any]:
    config_file = job / ".hydra" / "config.yaml"
    config = _read(config_file, OmegaConf.load) if config_file.is_file() else OmegaConf.create()
    values = {}
    for column, key in CONFIG_COLUMNS.items():
        value = OmegaConf.select(config, key, default=None, throw_on_missing=False)
        values[column] = "" if value is None or OmegaConf.is_config(value) else value
    return values


def _job_dirs(sweep_dir: Path) -> list[Path]:
    jobs = [d for d in sweep_dir.iterdir() if d.is_dir() and (d / ".hydra" / "overrides.yaml").is_file()]
    return sorted(jobs, key=lambda d: (not d.name.isdigit(), int(d.name) if d.name.isdigit() else 0, d.name))


def _read(path: Path, load: Callable[[Path], Any]) -> Any:
    """``load(path)``; a damaged file as one line that names it."""
    try:
        return load(path)
    except Exception as error:  # JSON and YAML parsers raise their own types
        raise ValueError(
            f"{path} is damaged ({type(error).__name__}: {first_line(error)}); delete that job folder or re-run the job"
        ) from None


def sweep_rows(sweep_dir: str | Path) -> list[dict[str, Any]]:
    """A row per job: the overrides that differ between jobs, its status and its key metrics."""
    jobs = _job_dirs(Path(sweep_dir))
    overrides = {job: list(_read(job / ".hydra" / "overrides.yaml", OmegaConf.load)) for job in jobs}
    shared = set.intersection(*(set(o) for o in overrides.values())) if overrides else set()
    rows = []
    for job in jobs:
        metrics_file, failure_file = job / METRICS_FILE, job / FAILURE_FILE
        metrics = _read(metrics_file, lambda p: json.loads(p.read_text())) if metrics_file.is_file() else {}
        if metrics:
            status = "ok"
        elif failure_file.is_file():
            failure = _read(failure_file, lambda p: json.loads(p.read_text()))
            status = f"failed: {failure['error']}: {failure['message']}"
        else:
            status = "no metrics.json (killed or still running)"
        row = {"job": job.name, "overrides": " ".join(o for o in overrides[job] if o not in shared), "status": status}
        row.update(_config_values(job))
        row.update({column: metrics.get(column, "") for column in METRIC_COLUMNS})
        rows.append(row)
    return rows


def write_sweep_summary(sweep_dir: str | Path) -> list[dict[str, Any]]:
    sweep_dir = Path(sweep_dir)
    rows = sweep_rows(sweep_dir)
    columns = ["job", "overrides", "status", *CONFIG_COLUMNS, *METRIC_COLUMNS]
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(sweep_dir / "summary.csv", table.getvalue())

    def cell(value: Any) -> str:
        return f"{value:.4f}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(row[c]) for c in columns) + " |" for row in rows]
    atomic_write_text(sweep_dir / "summary.md", "\n".join(lines) + "\n")
    plot_sweep(rows, sweep_dir / "summary.png")
    return rows


class SweepSummary(Callback):
    """Hydra callback (``hydra.callbacks``): the summary of a multirun when its last job ends."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        try:
            write_sweep_summary(config.hydra.sweep.dir)
        except ValueError as error:  # a damaged job file: the sweep's own results are already on disk
            log.error("no sweep summary: %s", error)


def sweep_folder(path: str) -> Path:
    """``path`` as a folder that holds sweep jobs, or one line saying why not."""
    folder = Path(path)
    if not folder.exists():
        raise FileNotFoundError(f"sweep folder {folder} does not exist; pass a folder under multirun/")
    if not folder.is_dir():
        raise ValueError(f"{folder} is a file; pass the sweep folder (multirun/<task>/<time>)")
    if not _job_dirs(folder):
        raise ValueError(
            f"{folder} holds no sweep jobs (no <job>/.hydra/overrides.yaml): nothing to summarise; "
            "pass the folder a `python train.py -m ...` sweep wrote"
        )
    return folder


def main(argv: list[str]) -> None:
    if len(argv) != 1 or argv[0] in ("-h", "--help"):
        raise SystemExit("usage: python -m loralab.sweeps.summary <sweep folder>")
    for summary_row in write_sweep_summary(sweep_folder(argv[0])):
        print(summary_row)


if __name__ == "__main__":
    run_cli(lambda: main(sys.argv[1:]))
