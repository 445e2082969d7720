"""The real Hydra config composed as ``train.py`` sees it, and the overrides that make runs tiny."""

from __future__ import annotations

from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf, open_dict

from helpers.paths import CONFIG_DIR


def compose_train_config(output_dir: Path, overrides: list[str]) -> DictConfig:
    """The config ``train.py`` would see, with Hydra's runtime set so ``${hydra:...}`` resolves."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(config_name="train", overrides=overrides, return_hydra_config=True)
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(output_dir)
    HydraConfig.instance().set_config(cfg)
    # What @hydra.main writes into every run folder, and eval.py / predict.py read back.
    (output_dir / ".hydra").mkdir(parents=True, exist_ok=True)
    OmegaConf.save(OmegaConf.create(list(overrides)), output_dir / ".hydra" / "overrides.yaml")
    return cfg


def quiet_run_overrides(data_dir: Path) -> list[str]:
    """Any model: two epochs on the tiny data, on the CPU, without progress output."""
    return [
        f"paths.data_dir={data_dir}",
        "trainer.max_epochs=2",
        "trainer.accelerator=cpu",
        "trainer.enable_progress_bar=false",
        "trainer.enable_model_summary=false",
        "trainer.log_every_n_steps=1",
        "callbacks.progress_bar=null",
        "data.batch_size=16",
    ]


def tiny_run_overrides(data_dir: Path) -> list[str]:
    """The TextClassifier made small: a few seconds per run on two CPU cores."""
    return quiet_run_overrides(data_dir) + [
        "model.tokenizer.min_frequency=1",
        "model.net.embed_dim=16",
        "model.net.hidden_dim=8",
        "optim.optimizer.lr=0.03",
    ]
