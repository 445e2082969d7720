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

from loralab.lora.param_groups import freeze_lora_A, has_lora_factors, loraplus_groups
from loralab.runs.checkpoint_paths import confine_checkpoint_paths
from loralab.settings.checks import ConfigValueError
from loralab.training.epoch_metrics import ClassificationEpochMetrics
from loralab.training.frozen_base import (
    FROZEN_BASE_KEY,
    check_frozen_base,
    frozen_base_record,
    frozen_keys,
    frozen_sha256,
)
from loralab.training.rng_states import RNG_STATES_KEY, collect_rng_states, restore_rng_states

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

    With ``checkpoint_trainable_only`` (LoRA runs), checkpoints hold what trains and a record of
    the frozen base (sha256 over its tensors, ``frozen_base_path``) instead of the base itself;
    loading one checks the record against this module's own base and takes the frozen tensors
    from it. Every checkpoint keeps the global RNG states, restored when the next epoch starts.

    ``lora_fa`` freezes every LoRA A as the module is built (so checkpoints treat A as part of the
    frozen base); ``loraplus_lr_ratio`` gives every B that ratio times the optimizer's learning rate
    (``lora/param_groups.py``).
    """

    def __init__(
        self,
        net: nn.Module,
        num_classes: int,
        optimizer: OptimizerFactory | None = None,
        scheduler: SchedulerFactory | None = None,
        scheduler_interval: str = "epoch",
        checkpoint_trainable_only: bool = False,
        frozen_base_path: str | None = None,
        lora_fa: bool = False,
        loraplus_lr_ratio: float | None = None,
    ) -> None:
        super().__init__()
        self.net = net
        for key, value in (("lora_fa", lora_fa), ("loraplus_lr_ratio", loraplus_lr_ratio)):
            if value not in (None, False) and not has_lora_factors(net):
                raise ConfigValueError(
                    "optim", key, value, f"the model has no LoRA adapter; pick a LoRA model or unset optim.{key}"
                )
        if lora_fa:
            freeze_lora_A(net)
        self.loraplus_lr_ratio = loraplus_lr_ratio
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
        self.checkpoint_trainable_only = checkpoint_trainable_only
        self.frozen_base_path = frozen_base_path
        self._frozen_sha256: str | None = None
        self._rng_states_to_restore: dict | None = None

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
        # already global (the best of the synced val/acc); sync_dist as for the figures above
        self.log("val/acc_best", self.val_acc_best.compute(), prog_bar=True, sync_dist=True)

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

    def frozen_base_sha256(self) -> str:
        """sha256 of the frozen tensors as built, computed once: a precision plugin may cast them later."""
        if self._frozen_sha256 is None:
            self._frozen_sha256 = frozen_sha256(self)
        return self._frozen_sha256

    def setup(self, stage: str) -> None:
        # Before the strategy moves the module to its device and precision, and before any restore.
        if self.checkpoint_trainable_only:
            self.frozen_base_sha256()

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint[RNG_STATES_KEY] = collect_rng_states()
        if not self.checkpoint_trainable_only:
            return
        for key in frozen_keys(self):
            checkpoint["state_dict"].pop(key, None)
        checkpoint[FROZEN_BASE_KEY] = frozen_base_record(self, self.frozen_base_sha256(), self.frozen_base_path)

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        self._rng_states_to_restore = checkpoint.get(RNG_STATES_KEY)
        trainer = self._trainer
        if trainer is not None:  # before Lightning restores the callbacks from it
            confine_checkpoint_paths(checkpoint, trainer.callbacks, trainer.ckpt_path)
        self.complete_state_dict(checkpoint, trainer.ckpt_path if trainer is not None else None)

    def complete_state_dict(self, checkpoint: dict, source: str | None) -> None:
        """Put this module's frozen tensors into a checkpoint that holds only what trains, after
        checking that they are the ones it was trained on; a full checkpoint is left as it is."""
        record = checkpoint.get(FROZEN_BASE_KEY)
        if record is None:
            return
        if not self.checkpoint_trainable_only:
            raise ValueError(
                f"checkpoint {source} holds only a LoRA run's trained tensors; load it into a LoRA run on the same base"
            )
        check_frozen_base(record, self.frozen_base_sha256(), source)
        own = self.state_dict()
        for key in frozen_keys(self):
            checkpoint["state_dict"].setdefault(key, own[key])

    def load_checkpoint_weights(self, checkpoint: dict, source: str | None) -> None:
        """A checkpoint's weights into this module, full or trainable-only (base verified)."""
        self.complete_state_dict(checkpoint, source)
        self.load_state_dict(checkpoint["state_dict"])

    def on_train_epoch_start(self) -> None:
        # The first epoch after a restore draws from the generators as the uninterrupted run did:
        # nothing between a checkpoint's save and the next epoch's start reads them.
        if self._rng_states_to_restore is not None:
            restore_rng_states(self._rng_states_to_restore)
            self._rng_states_to_restore = None

    def configure_optimizers(self):
        if self.optimizer_factory is None:
            raise ValueError("this module was built for evaluation only (no optimizer); pass optimizer= to train it")
        trainable = [p for p in self.parameters() if p.requires_grad]
        if not trainable:
            raise ValueError("the model has no trainable parameters; check model.lora and model.freeze_embeddings")
        if self.loraplus_lr_ratio is not None:
            lr = self.optimizer_factory.keywords["lr"]
            trainable = loraplus_groups(self.named_parameters(), lr, self.loraplus_lr_ratio)
        optimizer = self.optimizer_factory(trainable, **self._unfused_if_clipping_mixed_precision())
        if self.scheduler_factory is None:
            return optimizer
        scheduler = self.scheduler_factory(optimizer, **self._schedule_length())
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": self.scheduler_interval}}
