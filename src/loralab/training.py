"""One training run: fit, test on the best checkpoint, write ``metrics.json``."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import lightning as L
from omegaconf import DictConfig

from loralab.atomic_files import atomic_write_json
from loralab.build import build_datamodule, build_module, build_trainer
from loralab.parameters import count_parameters

log = logging.getLogger(__name__)

METRICS_FILE = "metrics.json"


def train(cfg: DictConfig) -> dict:
    """Run the experiment ``cfg`` describes; return (and save) its metrics."""
    output_dir = Path(cfg.paths.output_dir)
    L.seed_everything(cfg.seed, workers=True)
    datamodule = build_datamodule(cfg)
    datamodule.tokenizer.save(output_dir)
    module = build_module(cfg, datamodule)
    counts = count_parameters(module.net)
    log.info(
        "trainable params: %d || all params: %d || trainable%%: %.4f",
        counts["trainable_params"], counts["total_params"], counts["trainable_percent"],
    )
    trainer = build_trainer(cfg)

    started = time.perf_counter()
    trainer.fit(module, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"))
    train_seconds = time.perf_counter() - started
    metrics = {k: v.item() for k, v in trainer.callback_metrics.items()}

    if cfg.get("test", True):
        has_best = trainer.checkpoint_callback is not None and trainer.checkpoint_callback.best_model_path
        trainer.test(module, datamodule=datamodule, ckpt_path="best" if has_best else None, weights_only=True)
        metrics.update({k: v.item() for k, v in trainer.callback_metrics.items() if k.startswith("test/")})

    metrics.update(counts)
    metrics.update({"train_seconds": round(train_seconds, 2), "epochs": trainer.current_epoch, "data_source": datamodule.data_source})
    atomic_write_json(output_dir / METRICS_FILE, metrics)
    log.info("metrics: %s", {k: metrics[k] for k in ("val/acc_best", "test/acc") if k in metrics})
    return metrics
