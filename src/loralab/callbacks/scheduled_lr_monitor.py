"""The learning rate in TensorBoard only where a schedule changes it, as ``train/lr``: a constant
rate is a flat line that pushes the loss and accuracy charts down (it is in HPARAMS already,
``optim.optimizer.lr``)."""

from __future__ import annotations

from typing import Any

import lightning as L
from lightning.pytorch.callbacks import LearningRateMonitor

SCHEDULED_LR_TAG = "train/lr"  # beside the other training curves, not a section of its own


class ScheduledLearningRateMonitor(LearningRateMonitor):
    """Lightning's ``LearningRateMonitor``, silent in runs without an LR scheduler; a run with one
    scheduler logs its rate as ``train/lr`` (Lightning's ``lr-<optimizer>`` otherwise)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scheduled = False

    def on_train_start(self, trainer: L.Trainer, *args: Any, **kwargs: Any) -> None:
        self.scheduled = bool(trainer.lr_scheduler_configs)
        if not self.scheduled:
            return
        if len(trainer.lr_scheduler_configs) == 1 and trainer.lr_scheduler_configs[0].name is None:
            trainer.lr_scheduler_configs[0].name = SCHEDULED_LR_TAG  # the name the monitor logs it under
        super().on_train_start(trainer, *args, **kwargs)

    def on_train_batch_start(self, trainer: L.Trainer, *args: Any, **kwargs: Any) -> None:
        if self.scheduled:
            super().on_train_batch_start(trainer, *args, **kwargs)

    def on_train_epoch_start(self, trainer: L.Trainer, *args: Any, **kwargs: Any) -> None:
        if self.scheduled:
            super().on_train_epoch_start(trainer, *args, **kwargs)
