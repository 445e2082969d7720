"""TensorBoard's HPARAMS tab with the run's real metrics (``val/acc_best``, ``test/acc``), not
Lightning's placeholder ``hp_metric``, so a sweep folder compares its jobs in one table."""

from __future__ import annotations

from typing import Any

import lightning as L
from hydra.core.hydra_config import HydraConfig
from lightning.pytorch.loggers import TensorBoardLogger
from omegaconf import DictConfig, OmegaConf
from torch.utils.tensorboard.summary import hparams

from loralab.runs.resume import override_key

# Shown for every run, swept or not, so runs of different sweeps line up.
HPARAM_KEYS = [
    "model.lora.rank",
    "model.lora.alpha",
    "model.freeze_embeddings",
    "optim.optimizer.lr",
    "data.batch_size",
    "trainer.max_epochs",
    "seed",
]
HPARAM_METRICS = ["val/acc_best", "test/acc", "test/f1", "trainable_params"]


def _scalar(value: Any) -> bool | int | float | str:
    return value if isinstance(value, (bool, int, float, str)) else str(value)


def _override_keys() -> list[str]:
    """The config keys set on the command line (a sweep's swept keys among them)."""
    if not HydraConfig.initialized():
        return []
    keys = []
    for override in HydraConfig.get().overrides.task:
        key = override_key(override)
        if not key.startswith(("paths.", "hydra.", "callbacks.", "logger.")):
            keys.append(key)
    return keys


def run_hparams(cfg: DictConfig) -> dict[str, bool | int | float | str]:
    """The run's hyperparameters: the fixed keys above and every key overridden for this run."""
    values = {}
    for key in dict.fromkeys(HPARAM_KEYS + _override_keys()):
        value = OmegaConf.select(cfg, key, default=None, throw_on_missing=False)
        if value is not None:
            values[key] = _scalar(OmegaConf.to_container(value) if OmegaConf.is_config(value) else value)
    return values


def log_hparams_with_metrics(trainer: L.Trainer, cfg: DictConfig, metrics: dict[str, float]) -> None:
    """Write the HPARAMS session of this run; its metric columns read the scalars of the same tags."""
    shown = {name: float(metrics[name]) for name in HPARAM_METRICS if name in metrics}
    for logger in trainer.loggers:
        if not isinstance(logger, TensorBoardLogger) or not shown:
            continue
        if "trainable_params" in shown:  # not a logged scalar yet: log it so the column has a value
            logger.experiment.add_scalar("trainable_params", shown["trainable_params"], trainer.global_step)
        writer = logger.experiment._get_file_writer()
        for summary in hparams(run_hparams(cfg), shown):
            writer.add_summary(summary)
        logger.experiment.flush()
