"""``summary.png``: a sweep's test accuracy against LoRA rank (a line per alpha, a panel per frozen
or unfrozen embeddings) and against trainable parameters (log scale).

Each point is a group of jobs that differ only by seed: its mean, with an error bar of one standard
deviation when it has several seeds. All panels share one y axis spanning at least
``MIN_ACCURACY_SPAN``, so differences of a few thousandths (noise, for one seed) look as small as
they are instead of filling the panel.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display on servers and in sweeps
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from loralab.atomic_files import atomic_write

METRIC = "test/acc"
MIN_ACCURACY_SPAN = 0.05  # five accuracy points: the least a panel's y axis spans


def _finished(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [group for group in groups if group["n"] and group[f"{METRIC} mean"] != ""]


def _spread(group: dict[str, Any]) -> float:
    return float(group[f"{METRIC} std"] or 0.0)


def accuracy_limits(lows: list[float], highs: list[float], min_span: float = MIN_ACCURACY_SPAN) -> tuple[float, float]:
    """A y range holding every value (``lows``/``highs``: ends of the error bars), at least
    ``min_span`` wide, centred on the values, and inside [0, 1] when the values are."""
    low, high = min(lows), max(highs)
    pad = max(min_span - (high - low), 0.0) / 2 + 0.05 * (high - low)
    low, high = low - pad, high + pad
    if high > 1 >= max(highs):
        low, high = low - (high - 1), 1.0
    if low < 0 <= min(lows):
        low, high = 0.0, high - low
    return low, high


def sweep_figure(groups: list[dict[str, Any]]) -> Figure | None:
    """The figure of the finished groups (``loralab.sweeps.summary.group_rows``); None if none."""
    done = _finished(groups)
    if not done:
        return None
    panels = sorted({str(group["freeze_embeddings"]) for group in done})
    figure, axes = plt.subplots(1, len(panels) + 1, figsize=(4.5 * (len(panels) + 1), 3.8), squeeze=False, sharey=True)
    for axis, frozen in zip(axes[0], panels):
        lines: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
        for group in done:
            if str(group["freeze_embeddings"]) == frozen and group["rank"] != "":
                lines[str(group["alpha"])].append(
                    (float(group["rank"]), float(group[f"{METRIC} mean"]), _spread(group))
                )
        for alpha, points in sorted(lines.items(), key=lambda item: float(item[0] or 0)):
            ranks, means, spreads = zip(*sorted(points))
            axis.errorbar(ranks, means, yerr=spreads, marker="o", capsize=3, label=f"alpha {alpha}")
        axis.set_xscale("log", base=2)
        axis.set(xlabel="LoRA rank", ylabel="test accuracy", title=f"freeze_embeddings={frozen}")
        axis.grid(alpha=0.3)
        if lines:
            axis.legend()
    axis = axes[0][-1]
    for frozen in panels:
        members = [g for g in done if str(g["freeze_embeddings"]) == frozen and g["trainable_params"] != ""]
        if members:
            sizes = [float(g["trainable_params"]) for g in members]
            means = [float(g[f"{METRIC} mean"]) for g in members]
            axis.errorbar(
                sizes,
                means,
                yerr=[_spread(g) for g in members],
                fmt="o",
                capsize=3,
                label=f"freeze_embeddings={frozen}",
            )
    axis.set_xscale("log")
    axis.set(xlabel="trainable parameters", ylabel="test accuracy", title="accuracy against size")
    axis.grid(alpha=0.3)
    axis.legend()
    means = [float(g[f"{METRIC} mean"]) for g in done]
    axis.set_ylim(
        *accuracy_limits([m - _spread(g) for m, g in zip(means, done)], [m + _spread(g) for m, g in zip(means, done)])
    )
    seeds = max(group["n"] for group in done)
    if seeds > 1:
        figure.suptitle(f"mean ± standard deviation over up to {seeds} seeds", fontsize=9)
    figure.tight_layout()
    return figure


def plot_sweep(groups: list[dict[str, Any]], path: str | Path) -> bool:
    """Draw ``sweep_figure(groups)`` into ``path``; False when no group has finished, and then
    nothing is written."""
    figure = sweep_figure(groups)
    if figure is None:
        return False
    atomic_write(Path(path), lambda tmp: figure.savefig(tmp, dpi=100, format="png"))
    plt.close(figure)
    return True
