"""Stop at the first NaN or infinite training loss, before a damaged model reaches a checkpoint."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import torch


class NonFiniteLossError(ValueError):
    """The training loss became NaN or infinite."""


class StopOnNonFiniteLoss(L.Callback):
    """Raises ``NonFiniteLossError`` naming the step; the checkpoints already written are the last
    good ones and stay as they are. Checking costs one host sync per ``check_every_n_steps`` steps."""

    def __init__(self, check_every_n_steps: int = 1) -> None:
        self.check_every_n_steps = check_every_n_steps

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs, batch, batch_idx: int) -> None:
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        if loss is None or trainer.global_step % self.check_every_n_steps or torch.isfinite(loss).all():
            return
        callback = trainer.checkpoint_callback
        last_good = callback.last_model_path or callback.best_model_path if callback else ""
        kept = f"the last good checkpoint is {Path(last_good)}" if last_good else "no checkpoint had been written yet"
        raise NonFiniteLossError(
            f"the training loss became {loss.item()} at step {trainer.global_step} (epoch {trainer.current_epoch}, batch {batch_idx}); "
            f"{kept}. Lower optim.optimizer.lr or check the data for empty or broken rows"
        )
