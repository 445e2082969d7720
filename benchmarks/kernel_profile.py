"""Where a loralab training step spends its time: torch.profiler over a few steps after warm-up,
written as a table of operators and kernels sorted by device time (``bench_gpu.py --profile``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch.profiler import ProfilerActivity, profile, schedule

PROFILED_STEPS = 10


class ProfilerSteps(L.Callback):
    """Advances the profiler's schedule once per optimizer step."""

    def __init__(self, profiler: profile) -> None:
        self.profiler = profiler

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        self.profiler.step()


def profiled_training(train, warmup_steps: int, out_file: Path) -> None:
    """``train(callbacks)`` with a profiler stepped by one of those callbacks; the table of the
    ``PROFILED_STEPS`` steps after ``warmup_steps`` goes to ``out_file``."""
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if torch.cuda.is_available() else [])
    sort_by = "self_cuda_time_total" if torch.cuda.is_available() else "self_cpu_time_total"
    with profile(
        activities=activities,
        schedule=schedule(wait=max(warmup_steps - 2, 0), warmup=2, active=PROFILED_STEPS, repeat=1),
    ) as profiler:
        train([ProfilerSteps(profiler)])
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(profiler.key_averages().table(sort_by=sort_by, row_limit=40, max_name_column_width=70))
    print(f"profile of {PROFILED_STEPS} steps written to {out_file}")
