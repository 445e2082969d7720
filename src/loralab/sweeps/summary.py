"""One table per sweep, in the sweep folder: ``summary.csv`` (a row per job), ``summary_groups.csv``
(a row per group of jobs that differ only by ``seed``: mean, standard deviation and n),
``summary.md`` (both, for reading) and ``summary.png``.

Written by a Hydra callback when a multirun ends, which then prints where they are and the best
job; rebuilt from any sweep folder, a killed one included, with
``python -m loralab.sweeps.summary <sweep folder>``. Given an Optuna storage instead
(``python -m loralab.sweeps.summary <storage URL> [study name]``), it prints the whole study that
several workers shared (``loralab.sweeps.search.study_summary``).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from loralab.atomic_files import atomic_write_text
from loralab.cli_errors import first_line, run_cli
from loralab.files.run_files import METRICS_FILE
from loralab.files.safe_paths import read_text_capped
from loralab.overrides import override_key
from loralab.sweeps.jobs import FAILURE_FILE
from loralab.sweeps.plot import plot_sweep
from loralab.terminal_text import escaped

log = logging.getLogger(__name__)

METRIC_COLUMNS = ["val/acc_best", "test/acc", "trainable_params", "adapter_bytes", "train_seconds"]
# Averaged over the seeds of a group (the others are the same for every seed).
SEED_METRICS = ["val/acc_best", "test/acc", "train_seconds"]
# Read from each job's composed config, so the plot has them whether they were swept or not.
CONFIG_COLUMNS = {
    "rank": "model.lora.rank",
    "alpha": "model.lora.alpha",
    "freeze_embeddings": "model.freeze_embeddings",
}
SEED_KEY = "seed"
JOB_COLUMNS = ["job", "overrides", "group", "status"]


def _config_values(job: Path) -> dict[str, Any]:
    config_file = job / ".hydra" / "config.yaml"
    config = _read(config_file, _yaml) if config_file.is_file() else OmegaConf.create()
    values = {}
    for column, key in CONFIG_COLUMNS.items():
        value = OmegaConf.select(config, key, default=None, throw_on_missing=False)
        values[column] = "" if value is None or OmegaConf.is_config(value) else value
    return values


def _job_dirs(sweep_dir: Path) -> list[Path]:
    jobs = [d for d in sweep_dir.iterdir() if d.is_dir() and (d / ".hydra" / "overrides.yaml").is_file()]
    return sorted(jobs, key=lambda d: (not d.name.isdigit(), int(d.name) if d.name.isdigit() else 0, d.name))


def _yaml(path: Path) -> Any:
    return OmegaConf.create(read_text_capped(path))  # capped: a sweep folder may come from anyone


def _json(path: Path) -> Any:
    return json.loads(read_text_capped(path))


def _read(path: Path, load: Callable[[Path], Any]) -> Any:
    """``load(path)``; a damaged file as one line that names it."""
    try:
        return load(path)
    except Exception as error:  # JSON and YAML parsers raise their own types
        raise ValueError(
            f"{path} is damaged ({type(error).__name__}: {first_line(error)}); delete that job folder or re-run the job"
        ) from None


def optimized_metric(sweep_dir: str | Path) -> tuple[str, str]:
    """The sweep's ``optimized_metric`` and direction (``maximize`` unless the sweeper, e.g. Optuna's
    ``direction``, says ``minimize``), read from its first job's saved config."""
    jobs = _job_dirs(Path(sweep_dir))
    if not jobs:
        return "val/acc_best", "maximize"
    config_file, hydra_file = jobs[0] / ".hydra" / "config.yaml", jobs[0] / ".hydra" / "hydra.yaml"
    config = _read(config_file, _yaml) if config_file.is_file() else OmegaConf.create()
    hydra = _read(hydra_file, _yaml) if hydra_file.is_file() else OmegaConf.create()
    direction = OmegaConf.select(hydra, "hydra.sweeper.direction", default=None, throw_on_resolution_failure=False)
    direction = "minimize" if str(direction).lower() == "minimize" else "maximize"
    return str(config.get("optimized_metric") or "val/acc_best"), direction


def sweep_rows(sweep_dir: str | Path) -> list[dict[str, Any]]:
    """A row per job: the overrides that differ between jobs, its seed group (those overrides less
    ``seed``), its status and its key metrics (and the optimized metric, whatever it is)."""
    jobs = _job_dirs(Path(sweep_dir))
    metric_columns = list(dict.fromkeys([*METRIC_COLUMNS, optimized_metric(sweep_dir)[0]]))
    overrides = {job: list(_read(job / ".hydra" / "overrides.yaml", _yaml)) for job in jobs}
    shared = set.intersection(*(set(o) for o in overrides.values())) if overrides else set()
    rows = []
    for job in jobs:
        metrics_file, failure_file = job / METRICS_FILE, job / FAILURE_FILE
        metrics = _read(metrics_file, _json) if metrics_file.is_file() else {}
        if metrics:
            status = "ok"
        elif failure_file.is_file():
            failure = _read(failure_file, _json)
            status = escaped(f"failed: {failure['error']}: {failure['message']}")
        else:
            status = "no metrics.json (killed or still running)"
        varying = [escaped(o) for o in overrides[job] if o not in shared]
        row = {
            "job": job.name,
            "overrides": " ".join(varying),
            "group": " ".join(o for o in varying if override_key(o) != SEED_KEY),
            "status": status,
        }
        row.update(_config_values(job))
        row.update({column: metrics.get(column, "") for column in metric_columns})
        rows.append(row)
    return rows


def group_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A row per group of jobs that differ only by seed, in the order of its first job: its jobs,
    ``n`` (finished jobs), ``failed``, and the mean and sample standard deviation (empty for n < 2)
    of each metric over its finished jobs."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row["group"], []).append(row)
    averaged = [
        column
        for column in (rows[0] if rows else [])
        if column not in (*JOB_COLUMNS, *CONFIG_COLUMNS) and (column in SEED_METRICS or column not in METRIC_COLUMNS)
    ]
    table = []
    for group, members in groups.items():
        done = [row for row in members if row["status"] == "ok"]
        summary = {
            "group": group,
            "jobs": " ".join(row["job"] for row in members),
            "n": len(done),
            "failed": len(members) - len(done),
        }
        summary.update({column: members[0][column] for column in CONFIG_COLUMNS})
        for column in averaged:
            values = [float(row[column]) for row in done if row[column] != ""]
            summary[f"{column} mean"] = statistics.fmean(values) if values else ""
            summary[f"{column} std"] = statistics.stdev(values) if len(values) > 1 else ""
        for column in ("trainable_params", "adapter_bytes"):
            summary[column] = next((row[column] for row in done if row[column] != ""), "")
        table.append(summary)
    return table


def best_job(rows: list[dict[str, Any]], metric: str, direction: str = "maximize") -> dict[str, Any] | None:
    """The finished job with the best ``metric`` (the first of equals), or None if none has it."""
    done = [row for row in rows if row["status"] == "ok" and row.get(metric, "") != ""]
    if not done:
        return None
    sign = -1 if direction == "minimize" else 1
    return max(done, key=lambda row: sign * float(row[metric]))


def _csv_text(rows: list[dict[str, Any]]) -> str:
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=list(rows[0]) if rows else ["job"])
    writer.writeheader()
    writer.writerows(rows)
    return table.getvalue()


def _cell(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _markdown_table(rows: list[dict[str, Any]], columns: list[str]) -> list[str]:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    return lines + ["| " + " | ".join(_cell(row[c]) for c in columns) + " |" for row in rows]


def _groups_markdown(groups: list[dict[str, Any]]) -> list[str]:
    """Mean ± standard deviation in one cell per metric."""
    metrics = [c.removesuffix(" mean") for c in groups[0] if c.endswith(" mean")]
    shown = []
    for group in groups:
        row = {c: group[c] for c in ("group", "n", "failed", *CONFIG_COLUMNS)}
        for metric in metrics:
            mean, std = group[f"{metric} mean"], group[f"{metric} std"]
            row[metric] = "" if mean == "" else f"{mean:.4f}" + ("" if std == "" else f" ± {std:.4f}")
        shown.append(row)
    return _markdown_table(shown, list(shown[0]))


def write_sweep_summary(sweep_dir: str | Path) -> list[dict[str, Any]]:
    """Write the summary files of ``sweep_dir``; return its job rows."""
    sweep_dir = Path(sweep_dir)
    rows = sweep_rows(sweep_dir)
    groups = group_rows(rows)
    atomic_write_text(sweep_dir / "summary.csv", _csv_text(rows))
    atomic_write_text(sweep_dir / "summary_groups.csv", _csv_text(groups))
    lines = []
    if any(len(group["jobs"].split()) > 1 for group in groups):
        lines += ["## Groups of jobs that differ only by seed (mean ± standard deviation over n)", ""]
        lines += _groups_markdown(groups) + ["", "## Jobs", ""]
    lines += _markdown_table(rows, list(rows[0]) if rows else ["job"])
    atomic_write_text(sweep_dir / "summary.md", "\n".join(lines) + "\n")
    plot_sweep(groups, sweep_dir / "summary.png")
    return rows


def sweep_report(sweep_dir: str | Path, rows: list[dict[str, Any]]) -> str:
    """The lines a multirun ends with: where its summary is, and its best job."""
    sweep_dir = Path(sweep_dir)
    metric, direction = optimized_metric(sweep_dir)
    done = sum(row["status"] == "ok" for row in rows)
    lines = [f"sweep: {done} of {len(rows)} jobs finished; summary: {sweep_dir / 'summary.md'}"]
    best = best_job(rows, metric, direction)
    if best is None:
        lines.append(f"best job: none (no finished job has {metric})")
    else:
        overrides = best["overrides"] or "(the only job)"
        lines.append(f"best job by {metric} ({direction}): {sweep_dir / best['job']}  {metric}={best[metric]:.4f}")
        lines.append(f"  its overrides: {overrides}")
    groups = [group for group in group_rows(rows) if group["n"] > 1 and group.get(f"{metric} mean", "") != ""]
    if groups:  # one lucky seed is not a result: the best mean over seeds too
        sign = -1 if direction == "minimize" else 1
        group = max(groups, key=lambda g: sign * g[f"{metric} mean"])
        lines.append(
            f"best seed group by mean {metric}: {group['group'] or '(all jobs)'}  "
            f"{group[f'{metric} mean']:.4f} ± {group[f'{metric} std']:.4f} (n={group['n']}, jobs {group['jobs']})"
        )
    lines.append(f"curves and HPARAMS: tensorboard --logdir {sweep_dir}")
    return "\n".join(lines)


def summarise_sweep(sweep_dir: str | Path) -> str:
    """The summary files, the sweep's TensorBoard HPARAMS description and summary plot (when its jobs
    wrote TensorBoard sessions); returns what to tell the user."""
    # here, not at the top: Lightning's import takes seconds, and a study's summary needs none of it
    from loralab.training.tensorboard_hparams import read_sessions, write_sweep_experiment

    rows = write_sweep_summary(sweep_dir)
    sessions = read_sessions(sweep_dir)
    if sessions:
        write_sweep_experiment(sweep_dir, sessions, Path(sweep_dir) / "summary.png")
    return sweep_report(sweep_dir, rows)


class SweepSummary(Callback):
    """Hydra callback (``hydra.callbacks``): ``summarise_sweep`` when a multirun ends."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        try:  # print, not log: the logging set up for the jobs would append this to the last job's log
            print(summarise_sweep(config.hydra.sweep.dir), flush=True)
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


USAGE = "usage: python -m loralab.sweeps.summary <sweep folder> | <study storage URL> [study name]"


def main(argv: list[str]) -> None:
    if not argv or len(argv) > 2 or argv[0] in ("-h", "--help"):
        raise SystemExit(USAGE)
    if "://" in argv[0] or argv[0].startswith("journal:"):  # Optuna is imported only for a storage
        from loralab.sweeps.search.study_summary import study_report

        print(study_report(argv[0], argv[1] if len(argv) == 2 else None))
        return
    if len(argv) == 2:
        raise SystemExit(USAGE)
    print(summarise_sweep(sweep_folder(argv[0])))


if __name__ == "__main__":
    run_cli(lambda: main(sys.argv[1:]))
