"""The LightningModule shared by every model family: batch dict in, logits out."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable

import lightning as L
import torch
from torch import nn
from torchmetrics import MaxMetric, MeanMetric
from torchmetrics.classification import MulticlassAccuracy, MulticlassF1Score

OptimizerFactory = Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer]
SchedulerFactory = Callable[[torch.optim.Optimizer], torch.optim.lr_scheduler.LRScheduler]


class TextClassificationModule(L.LightningModule):
    """Cross-entropy training of any ``net(input_ids=..., attention_mask=...)`` that returns logits
    (or an output with ``.logits``, as Hugging Face models do).

    Logs ``train/loss``, ``train/acc``, ``val/loss``, ``val/acc``, ``val/f1``, ``val/acc_best``,
    ``test/loss``, ``test/acc``, ``test/f1``. The optimizer sees only trainable parameters, so a
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
        self.metrics = nn.ModuleDict(
            {
                f"{stage}_{name}": metric
                for stage in ("train", "val", "test")
                for name, metric in (
                    ("acc", MulticlassAccuracy(num_classes, average="micro")),
                    ("f1", MulticlassF1Score(num_classes, average="macro")),
                    ("loss", MeanMetric()),  # val and test (a mean over examples, not batches)
                )
                if (stage, name) != ("train", "loss")
            }
        )
        self.val_acc_best = MaxMetric()
        self.val_acc_best.persistent(True)  # in checkpoints, so a resumed run keeps its best so far

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        output = self.net(input_ids=input_ids, attention_mask=attention_mask)
        return getattr(output, "logits", output)

    def _step(self, batch: dict[str, torch.Tensor], stage: str) -> torch.Tensor:
        logits = self(batch["input_ids"], batch["attention_mask"])
        loss = self.criterion(logits, batch["labels"])
        # update(), not a call: a call also computes the batch's own value, a host sync and a few
        # milliseconds per step; logged Metric objects are computed by Lightning once per epoch.
        self.metrics[f"{stage}_acc"].update(logits.detach(), batch["labels"])
        self.metrics[f"{stage}_f1"].update(logits.detach(), batch["labels"])
        if stage == "train":  # the step's loss as is (train/loss_step) and its epoch mean (train/loss_epoch)
            self.log("train/loss", loss.detach(), on_step=True, on_epoch=True, prog_bar=True, batch_size=len(logits))
        else:
            self.metrics[f"{stage}_loss"].update(loss.detach(), weight=len(logits))
            self.log(f"{stage}/loss", self.metrics[f"{stage}_loss"], on_step=False, on_epoch=True, prog_bar=True)
        self.log(f"{stage}/acc", self.metrics[f"{stage}_acc"], on_step=False, on_epoch=True, prog_bar=stage != "train")
        self.log(f"{stage}/f1", self.metrics[f"{stage}_f1"], on_step=False, on_epoch=True)
        return loss

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._step(batch, "val")

    def on_validation_epoch_end(self) -> None:
        if self.trainer.sanity_checking:  # a few batches before training: not an epoch's accuracy
            return
        self.val_acc_best(self.metrics["val_acc"].compute())
        self.log("val/acc_best", self.val_acc_best.compute(), prog_bar=True)

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._step(batch, "test")

    def _schedule_length(self) -> dict:
        """``num_training_steps`` for schedules that ask for it (warmup then decay)."""
        parameters = inspect.signature(self.scheduler_factory).parameters
        if "num_training_steps" not in parameters:
            return {}
        return {"num_training_steps": int(self.trainer.estimated_stepping_batches)}

    def configure_optimizers(self):
        if self.optimizer_factory is None:
            raise ValueError("this module was built for evaluation only (no optimizer); pass optimizer= to train it")
        trainable = [p for p in self.parameters() if p.requires_grad]
        if not trainable:
            raise ValueError("the model has no trainable parameters; check model.lora and model.freeze_embeddings")
        optimizer = self.optimizer_factory(trainable)
        if self.scheduler_factory is None:
            return optimizer
        scheduler = self.scheduler_factory(optimizer, **self._schedule_length())
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": self.scheduler_interval}}
