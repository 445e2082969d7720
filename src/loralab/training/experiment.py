"""One training run: fit, test on the best checkpoint, write ``metrics.json``."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.loggers import TensorBoardLogger
from omegaconf import DictConfig

from loralab.atomic_files import atomic_write_json
from loralab.files.run_files import METRICS_FILE
from loralab.models.parameters import count_parameters
from loralab.runs.model_card import write_adapter_card
from loralab.runs.resume import check_checkpoint
from loralab.runs.run_info import write_run_info
from loralab.runs.run_lock import run_folder_lock
from loralab.runs.run_model import save_run_model
from loralab.settings import RunSettings, settings_of
from loralab.training.components import build_datamodule, build_module, build_trainer
from loralab.training.config_checks import check_required_keys
from loralab.training.hardware_check import check_hardware
from loralab.training.run_report import run_report
from loralab.training.tensorboard_hparams import log_hparams_with_metrics
from loralab.training.tensorboard_run_text import log_run_text

log = logging.getLogger(__name__)


def train(cfg: DictConfig) -> dict:
    """Run the experiment ``cfg`` describes; return (and save) its metrics. The config is checked
    and the machine's devices against it before anything loads, and the run folder is locked while the
    run writes into it."""
    check_required_keys(cfg)
    settings = settings_of(cfg)  # every value checked, or one line naming the key
    check_hardware(cfg)
    with run_folder_lock(cfg.paths.output_dir):
        return _train_in_folder(cfg, settings, Path(cfg.paths.output_dir))


def _train_in_folder(cfg: DictConfig, settings: RunSettings, output_dir: Path) -> dict:
    L.seed_everything(cfg.seed, workers=True)
    datamodule = build_datamodule(cfg, settings)
    datamodule.tokenizer.save(output_dir)
    write_run_info(output_dir, datamodule.data_source, datamodule.data_fingerprints)
    module = build_module(cfg, datamodule, settings)
    counts = count_parameters(module.net)
    log.info(
        "trainable params: %d || all params: %d || trainable%%: %.4f",
        counts["trainable_params"],
        counts["total_params"],
        counts["trainable_percent"],
    )
    trainer = build_trainer(cfg)

    if cfg.get("ckpt_path"):
        check_checkpoint(cfg.ckpt_path)
    started = time.perf_counter()
    trainer.fit(module, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"), weights_only=True)
    train_seconds = time.perf_counter() - started
    metrics = {k: v.item() for k, v in trainer.callback_metrics.items()}
    restore_best_weights(trainer, module)

    if cfg.get("test", True):
        started = time.perf_counter()
        trainer.test(module, datamodule=datamodule)
        metrics.update({k: v.item() for k, v in trainer.callback_metrics.items() if k.startswith("test/")})
        metrics["test_seconds"] = round(time.perf_counter() - started, 2)

    if not trainer.is_global_zero:  # under DDP every process gets here; one writes the files
        return metrics
    metrics.update(save_run_model(module.net, cfg, output_dir, settings))
    metrics.update(counts)
    metrics.update(
        {
            "train_seconds": round(train_seconds, 2),
            "epochs": trainer.current_epoch,
            "data_source": datamodule.data_source,
            "world_size": trainer.world_size,
        }
    )
    write_adapter_card(output_dir, metrics)  # a PEFT run's adapter/README.md; metrics.json stays the last file
    atomic_write_json(output_dir / METRICS_FILE, metrics)
    log_hparams_with_metrics(trainer, cfg, metrics)
    log_run_text(trainer, cfg, metrics, output_dir)
    wrote_tensorboard = any(isinstance(logger, TensorBoardLogger) for logger in trainer.loggers)
    log.info("%s", run_report(output_dir, metrics, tensorboard=wrote_tensorboard))
    return metrics


def restore_best_weights(trainer: L.Trainer, module: L.LightningModule) -> None:
    """Load the best validation checkpoint, so test metrics and saved files describe the best epoch
    (a LoRA checkpoint holds only what trains: its frozen base is checked against the module's)."""
    callback = trainer.checkpoint_callback
    if callback is None or not callback.best_model_path:
        return
    checkpoint = torch.load(callback.best_model_path, map_location="cpu", weights_only=True)
    module.load_checkpoint_weights(checkpoint, callback.best_model_path)
    log.info(
        "restored the best checkpoint %s (%s = %.4f)",
        Path(callback.best_model_path).name,
        callback.monitor,
        callback.best_model_score,
    )
