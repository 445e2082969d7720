"""``summary.png``: a sweep's accuracy against LoRA rank (a line per alpha, a panel per frozen or
unfrozen embeddings) and against trainable parameters (log scale)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display on servers and in sweeps
import matplotlib.pyplot as plt

from loralab.atomic_files import atomic_write


def _finished(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [row for row in rows if row["status"] == "ok" and row["test/acc"] != ""]


def plot_sweep(rows: list[dict[str, Any]], path: str | Path) -> bool:
    """Draw the finished jobs of ``rows`` (``loralab.sweeps.summary.sweep_rows``) into ``path``; False when
    no job has finished, and then nothing is written."""
    done = _finished(rows)
    if not done:
        return False
    panels = sorted({str(row["freeze_embeddings"]) for row in done})
    figure, axes = plt.subplots(1, len(panels) + 1, figsize=(4.5 * (len(panels) + 1), 3.8), squeeze=False)
    for axis, frozen in zip(axes[0], panels):
        lines: dict[str, list[tuple[float, float]]] = defaultdict(list)
        for row in done:
            if str(row["freeze_embeddings"]) == frozen and row["rank"] != "":
                lines[str(row["alpha"])].append((float(row["rank"]), float(row["test/acc"])))
        for alpha, points in sorted(lines.items(), key=lambda item: float(item[0] or 0)):
            axis.plot(*zip(*sorted(points)), marker="o", label=f"alpha {alpha}")
        axis.set_xscale("log", base=2)
        axis.set(xlabel="LoRA rank", ylabel="test accuracy", title=f"freeze_embeddings={frozen}")
        axis.grid(alpha=0.3)
        if lines:
            axis.legend()
    axis = axes[0][-1]
    for frozen in panels:
        points = [
            (float(r["trainable_params"]), float(r["test/acc"])) for r in done if str(r["freeze_embeddings"]) == frozen
        ]
        axis.scatter(*zip(*points), label=f"freeze_embeddings={frozen}")
    axis.set_xscale("log")
    axis.set(xlabel="trainable parameters", ylabel="test accuracy", title="accuracy against size")
    axis.grid(alpha=0.3)
    axis.legend()
    figure.tight_layout()
    atomic_write(Path(path), lambda tmp: figure.savefig(tmp, dpi=100, format="png"))
    plt.close(figure)
    return True
