"""Lightning's TensorBoard logger without the ``epoch`` scalar Lightning adds to every write: a
staircase chart that sorted first in the SCALARS tab and told nothing the step axis does not."""

from __future__ import annotations

from collections.abc import Mapping

from lightning.pytorch.loggers import TensorBoardLogger

DROPPED_SCALARS = ("epoch",)


class RunTensorBoardLogger(TensorBoardLogger):
    """``TensorBoardLogger`` that leaves out ``DROPPED_SCALARS``; everything else is written as is."""

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        kept = {name: value for name, value in metrics.items() if name not in DROPPED_SCALARS}
        if kept:
            super().log_metrics(kept, step)
