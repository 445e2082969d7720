"""The loralab config a benchmark trains with: ``train.py``'s, composed in-process, with everything
that is not training switched off."""

from __future__ import annotations

from pathlib import Path

from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

ROOT = Path(__file__).resolve().parents[1]


def compose_config(overrides: list[str]) -> DictConfig:
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        return compose(config_name="train", overrides=overrides)


def fit_only_overrides(output_dir: str | Path, cache_dir: str | Path, trainer: str) -> list[str]:
    """Training and nothing else (no validation, checkpoints, logger, callbacks or progress output),
    writing under ``output_dir``, tokens cached in ``cache_dir``, on ``trainer`` (a conf/trainer name)."""
    return [
        f"paths.output_dir={output_dir}",
        f"paths.cache_dir={cache_dir}",
        f"trainer={trainer}",
        "data.val_fraction=0",
        "++trainer.limit_val_batches=0",
        "trainer.num_sanity_val_steps=0",
        "++trainer.enable_checkpointing=false",
        "trainer.enable_progress_bar=false",
        "trainer.enable_model_summary=false",
        "~logger",
        "~callbacks",
    ]
