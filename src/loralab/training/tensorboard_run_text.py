"""A run's card in TensorBoard's TEXT tab (``run/summary``): the command that made it, its key
settings, its headline metrics and its folder, so a chart's run can be traced back and re-run."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any

import lightning as L
from hydra.core.hydra_config import HydraConfig
from lightning.pytorch.loggers import TensorBoardLogger
from omegaconf import DictConfig

from loralab.training.tensorboard_hparams import run_hparams

RUN_TEXT_TAG = "run/summary"
HEADLINE_METRICS = ["val/acc_best", "test/acc", "test/f1", "test/loss", "trainable_params", "epochs", "train_seconds"]


def run_command() -> str:
    """The command that makes this run again: ``python train.py`` and the job's own overrides (one
    job of a sweep, not the sweep's ``-m`` line), or this process's arguments outside Hydra."""
    if HydraConfig.initialized():
        overrides = list(HydraConfig.get().overrides.task)
        return " ".join(["python", "train.py", *map(shlex.quote, overrides)])
    return " ".join(["python", *map(shlex.quote, sys.argv)])


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) <= 1 else f"{value:,.2f}"
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def run_text(cfg: DictConfig, metrics: dict[str, Any], output_dir: str | Path) -> str:
    """The card as Markdown."""
    lines = [
        f"**run folder**: `{output_dir}`",
        "",
        f"**command**: `{run_command()}`",
        "",
        "| metric | value |",
        "|---|---|",
    ]
    lines += [f"| {name} | {_value(metrics[name])} |" for name in HEADLINE_METRICS if name in metrics]
    lines += ["", "| setting | value |", "|---|---|"]
    lines += [f"| {name} | {_value(value)} |" for name, value in run_hparams(cfg).items()]
    return "\n".join(lines)


def log_run_text(trainer: L.Trainer, cfg: DictConfig, metrics: dict[str, Any], output_dir: str | Path) -> None:
    """Write the card into each TensorBoard logger's run."""
    for logger in trainer.loggers:
        if isinstance(logger, TensorBoardLogger):
            logger.experiment.add_text(RUN_TEXT_TAG, run_text(cfg, metrics, output_dir), trainer.global_step)
            logger.experiment.flush()
