"""Evaluate a finished run's model (base + adapter, or the saved network) on any split."""

from __future__ import annotations

from pathlib import Path

import lightning as L

from loralab.atomic_files import atomic_write_json
from loralab.runs.run_model import compose_run_config, load_run_net
from loralab.tools.run_arguments import refuse_overwrite
from loralab.training.classification_module import TextClassificationModule
from loralab.training.components import build_datamodule
from loralab.training.config_schema import check_config


def evaluate_run(
    run_dir: str | Path, config_dir: str | Path, overrides: list[str] = (), split: str = "test", force: bool = False
) -> dict:
    """Metrics of the run's model on ``split`` of its data (or of ``data=...`` in ``overrides``);
    also written to ``<run>/eval/<data>_<split>.json``, which is kept if it exists unless ``force``."""
    run_dir = Path(run_dir)
    cfg = compose_run_config(run_dir, Path(config_dir), list(overrides))
    check_config(cfg)
    result_file = run_dir / "eval" / f"{cfg.data.name}_{split}.json"
    refuse_overwrite(result_file, force)
    datamodule = build_datamodule(cfg)
    module = TextClassificationModule(load_run_net(cfg, run_dir, datamodule.tokenizer), datamodule.num_classes)
    trainer = L.Trainer(
        accelerator=cfg.trainer.accelerator,
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    (results,) = trainer.test(module, dataloaders=datamodule.dataloader(split), verbose=False)
    metrics = {key.replace("test/", f"{split}/"): value for key, value in results.items()}
    metrics.update({"data": datamodule.name, "split": split, "examples": len(datamodule.splits[split])})
    atomic_write_json(result_file, metrics)
    return metrics
