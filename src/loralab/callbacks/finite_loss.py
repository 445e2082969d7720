"""Stop at the first NaN or infinite training loss, before a damaged model reaches a checkpoint."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import torch


class NonFiniteLossError(ValueError):
    """The training loss became NaN or infinite."""


class StopOnNonFiniteLoss(L.Callback):
    """Raises ``NonFiniteLossError`` naming the step; the checkpoints already written are the last
    good ones and stay as they are.

    Every step's loss is folded into a flag on its own device (no host sync); the flag is read, one
    sync, every ``check_every_n_steps`` steps and always before validation and at epoch end, so no
    checkpoint is written after a bad step. ``None``: every step on CPU, where reading is free, and
    every 50 on an accelerator, where a sync per step stalls the queue of kernels.
    """

    def __init__(self, check_every_n_steps: int | None = None) -> None:
        if check_every_n_steps is not None and check_every_n_steps < 1:
            raise ValueError(f"check_every_n_steps must be >= 1 or null, got {check_every_n_steps}")
        self.check_every_n_steps = check_every_n_steps
        self._every = check_every_n_steps or 1  # set for the device when training starts
        self._all_finite: torch.Tensor | None = None  # since the last check
        self._last_good_step = 0

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._every = self.check_every_n_steps or (1 if pl_module.device.type == "cpu" else 50)
        self._all_finite, self._last_good_step = None, trainer.global_step  # a resumed run starts later

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs, batch, batch_idx: int
    ) -> None:
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        if loss is None:
            return
        finite = torch.isfinite(loss.detach()).all()
        self._all_finite = finite if self._all_finite is None else self._all_finite & finite
        if trainer.global_step % self._every == 0:
            self._check(trainer, batch_idx, loss)

    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.sanity_checking:
            self._check(trainer)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._check(trainer)  # Lightning runs the checkpoint callback's epoch end after this one

    def _check(self, trainer: L.Trainer, batch_idx: int | None = None, loss: torch.Tensor | None = None) -> None:
        if self._all_finite is None or bool(self._all_finite):
            self._all_finite, self._last_good_step = None, trainer.global_step
            return
        step = trainer.global_step
        if step - self._last_good_step <= 1 and loss is not None:  # this very step
            what = f"became {loss.item()} at step {step} (epoch {trainer.current_epoch}, batch {batch_idx})"
        else:
            what = f"became NaN or infinite between step {self._last_good_step + 1} and step {step} (epoch {trainer.current_epoch})"
        callback = trainer.checkpoint_callback
        last_good = callback.last_model_path or callback.best_model_path if callback else ""
        kept = f"the last good checkpoint is {Path(last_good)}" if last_good else "no checkpoint had been written yet"
        raise NonFiniteLossError(
            f"the training loss {what}; {kept}. Lower optim.optimizer.lr or check the data for empty or broken rows"
        )
