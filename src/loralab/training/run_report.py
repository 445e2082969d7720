"""The lines a run ends with: where its files are, its headline metrics, and how to see its curves,
so nobody has to dig through the log or guess the folder's timestamp."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def size_text(n_bytes: float) -> str:
    """``2232`` -> ``2.2 KiB``: file sizes as people read them."""
    size = float(n_bytes)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def run_report(output_dir: str | Path, metrics: dict[str, Any], tensorboard: bool) -> str:
    """What a finished run tells its user; ``tensorboard``: whether it wrote TensorBoard logs."""
    output_dir = Path(output_dir)
    lines = [f"run folder: {output_dir}"]
    scores = [f"{name} {metrics[name]:.4f}" for name in ("val/acc_best", "test/acc") if name in metrics]
    if scores:
        lines.append("  " + ", ".join(scores))
    if "trainable_params" in metrics:
        lines.append(
            f"  trainable parameters: {metrics['trainable_params']:,} of {metrics['total_params']:,}"
            f" ({metrics['trainable_percent']:.2f}%)"
        )
    for key, what in (("adapter_bytes", "adapter"), ("model_bytes", "model")):
        if key in metrics:
            lines.append(f"  {what} size: {size_text(metrics[key])}")
    if tensorboard:
        lines.append(f"  curves: tensorboard --logdir {output_dir}")
    return "\n".join(lines)
