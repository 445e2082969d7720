"""The LightningModule shared by every model family: batch dict in, logits out."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterable

import lightning as L
import torch
from lightning.pytorch.plugins.precision import MixedPrecision
from torch import nn
from torchmetrics import MaxMetric

from loralab.training.epoch_metrics import ClassificationEpochMetrics

log = logging.getLogger(__name__)

OptimizerFactory = Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer]
SchedulerFactory = Callable[[torch.optim.Optimizer], torch.optim.lr_scheduler.LRScheduler]


class TextClassificationModule(L.LightningModule):
    """Cross-entropy training of any ``net(input_ids=..., attention_mask=...)`` that returns logits
    (or an output with ``.logits``, as Hugging Face models do).

    Logs ``train/loss_step`` (every ``log_every_n_steps``), ``train/loss_epoch``, ``train/acc``,
    ``train/f1``, ``val/loss``, ``val/acc``, ``val/f1``, ``val/acc_best``, ``test/loss``,
    ``test/acc``, ``test/f1``. The optimizer sees only trainable parameters, so a
    LoRA run's optimizer state is as small as its adapter.
    """

    def __init__(
        self,
        net: nn.Module,
        num_classes: int,
        optimizer: OptimizerFactory | None = None,
        scheduler: SchedulerFactory | None = None,
        scheduler_interval: str = "epoch",
    ) -> None:
        super().__init__()
        self.net = net
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.scheduler_interval = scheduler_interval
        self.criterion = nn.CrossEntropyLoss()
        # keys "train_epoch", ...: a ModuleDict key "train" would shadow nn.Module.train
        self.metrics = nn.ModuleDict(
            {f"{stage}_epoch": ClassificationEpochMetrics(num_classes) for stage in ("train", "val", "test")}
        )
        self.val_acc_best = MaxMetric()
        self.val_acc_best.persistent(True)  # in checkpoints, so a resumed run keeps its best so far

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        output = self.net(input_ids=input_ids, attention_mask=attention_mask)
        return getattr(output, "logits", output)

    def _step(self, batch: dict[str, torch.Tensor], stage: str) -> torch.Tensor:
        logits = self(batch["input_ids"], batch["attention_mask"])
        loss = self.criterion(logits, batch["labels"])
        # Counts only, and no self.log of epoch values here: each self.log costs Lightning about a
        # millisecond, a metric's own value a host sync; epoch values are logged once, at epoch end.
        self.metrics[f"{stage}_epoch"].update(logits.detach(), batch["labels"], loss)
        if stage == "train" and self._step_is_logged():
            self.log("train/loss_step", loss.detach(), prog_bar=True)
        return loss

    def _step_is_logged(self) -> bool:
        """True on the steps the Trainer writes to its loggers (every ``log_every_n_steps``)."""
        return (self.global_step + 1) % max(1, self.trainer.log_every_n_steps) == 0

    def _log_epoch(self, stage: str) -> dict[str, torch.Tensor]:
        """Log the epoch's loss, accuracy and F1 (already summed over every device) and start
        counting afresh; returns them."""
        values = self.metrics[f"{stage}_epoch"].compute()
        self.metrics[f"{stage}_epoch"].reset()
        # Already global on every rank; sync_dist averages equal values (one all-reduce per figure
        # per epoch) so that Lightning does not warn about unsynced epoch logs under DDP.
        self.log(
            "train/loss_epoch" if stage == "train" else f"{stage}/loss",
            values["loss"],
            prog_bar=stage != "train",
            sync_dist=True,
        )
        self.log(f"{stage}/acc", values["acc"], prog_bar=stage != "train", sync_dist=True)
        self.log(f"{stage}/f1", values["f1"], sync_dist=True)
        return values

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._step(batch, "val")

    def on_train_epoch_end(self) -> None:
        self._log_epoch("train")

    def on_validation_epoch_end(self) -> None:
        values = self._log_epoch("val")
        if self.trainer.sanity_checking:  # a few batches before training: not an epoch's accuracy
            return
        self.val_acc_best(values["acc"])
        self.log("val/acc_best", self.val_acc_best.compute(), prog_bar=True)

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._step(batch, "test")

    def on_test_epoch_end(self) -> None:
        self._log_epoch("test")

    def _schedule_length(self) -> dict:
        """``num_training_steps`` for schedules that ask for it (warmup then decay)."""
        parameters = inspect.signature(self.scheduler_factory).parameters
        if "num_training_steps" not in parameters:
            return {}
        return {"num_training_steps": int(self.trainer.estimated_stepping_batches)}

    def _unfused_if_clipping_mixed_precision(self) -> dict:
        """Lightning clips gradients under mixed precision only when the optimizer leaves unscaling
        to it, which a fused optimizer does not (it raises); such a run steps unfused instead."""
        keywords = getattr(self.optimizer_factory, "keywords", {})
        clipping = bool(self.trainer.gradient_clip_val)
        if keywords.get("fused") and clipping and isinstance(self.trainer.precision_plugin, MixedPrecision):
            log.info(
                "gradient clipping under mixed precision: the optimizer steps unfused (Lightning cannot clip a fused one)"
            )
            return {"fused": False}
        return {}

    def configure_optimizers(self):
        if self.optimizer_factory is None:
            raise ValueError("this module was built for evaluation only (no optimizer); pass optimizer= to train it")
        trainable = [p for p in self.parameters() if p.requires_grad]
        if not trainable:
            raise ValueError("the model has no trainable parameters; check model.lora and model.freeze_embeddings")
        optimizer = self.optimizer_factory(trainable, **self._unfused_if_clipping_mixed_precision())
        if self.scheduler_factory is None:
            return optimizer
        scheduler = self.scheduler_factory(optimizer, **self._schedule_length())
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": self.scheduler_interval}}
