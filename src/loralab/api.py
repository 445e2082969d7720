"""loralab from Python (a notebook, a script): the objects ``train.py`` and ``predict.py`` build,
from any working directory, with no command line and no Hydra in sight.

    from loralab import api
    run = api.load_run("outputs/train/2026-12-01_13-10-00")
    run.predict(["A wonderful film.", "Dull and long."])   # [("positive", 0.97), ("negative", 0.91)]
    datamodule = api.build_datamodule("data=ag_news", "data.max_train_samples=2000")
    net = api.build_model("model=lora_textclassifier", "model.lora.rank=4", datamodule=datamodule)

Overrides are the command line's ``key=value`` strings; the configs are the ones shipped in the
package (``loralab.configs.CONFIG_DIR``). Each function is a thin wrapper over what the command
line runs, so both give the same objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, OmegaConf, open_dict
from torch import nn

from loralab.configs import CONFIG_DIR
from loralab.data import TextClassificationDataModule
from loralab.quiet_console import filter_third_party_noise
from loralab.runs.open_run import open_run
from loralab.settings import settings_of
from loralab.tools.prediction import label_texts
from loralab.training import components, experiment
from loralab.training.config_checks import check_required_keys
from loralab.training.model_builders import add_adapters, build_net

DEFAULT_OUTPUT_DIR = Path("outputs") / "python"


@dataclass
class TrainedRun:
    """A finished run's model, ready to label texts: what ``predict.py`` loads, kept in memory."""

    folder: Path
    net: nn.Module  # in eval mode: base + adapter for LoRA runs
    tokenizer: Any  # WordTokenizer or PretrainedTokenizer: ``encode(texts)``, ``pad_id``
    label_names: list[str]  # index -> name, the order of the network's outputs
    description: dict  # the run's run_config.json: plain values that rebuilt the model

    def predict(self, texts: str | Sequence[str], batch_size: int = 256) -> list[tuple[str, float]]:
        """The most probable label name and its probability, for each text."""
        texts = [texts] if isinstance(texts, str) else list(texts)
        return label_texts(self.net, self.tokenizer, self.label_names, texts, batch_size)


def load_run(run_dir: str | Path, base: str | Path | None = None) -> TrainedRun:
    """The model, tokenizer and label names of a run folder (``outputs/...`` or a sweep's job),
    rebuilt as ``predict.py`` does: from plain values, never running code the folder names.
    ``base``: the base of a run moved away from it (checked by sha256)."""
    filter_third_party_noise()
    run_dir = Path(run_dir).resolve()
    run = open_run(run_dir, base)
    return TrainedRun(run_dir, run.net, run.tokenizer, run.label_names, run.description)


def compose_config(*overrides: str, output_dir: str | Path = DEFAULT_OUTPUT_DIR) -> DictConfig:
    """``train.py``'s config with these overrides, writing (if trained) to ``output_dir``."""
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(config_name="train", overrides=list(overrides))
    check_required_keys(cfg)
    with open_dict(cfg):
        cfg.paths.output_dir = str(Path(output_dir).resolve())
    return cfg


def build_datamodule(*overrides: str) -> TextClassificationDataModule:
    """The DataModule ``train.py`` would use, data loaded and tokenizer fitted (``data=``, ``model=``
    choose the data set and the tokenizer)."""
    return components.build_datamodule(compose_config(*overrides))


def build_model(*overrides: str, datamodule: TextClassificationDataModule | None = None) -> nn.Module:
    """The network ``train.py`` would train, LoRA-wrapped when ``model=`` has LoRA. Its size depends
    on the tokenizer, so it takes the DataModule (built from the same overrides when not given)."""
    filter_third_party_noise()
    cfg = compose_config(*overrides)
    datamodule = datamodule or components.build_datamodule(cfg)
    model = settings_of(cfg).model
    return add_adapters(model, build_net(model, datamodule.num_classes, datamodule.tokenizer))


def train(*overrides: str, output_dir: str | Path) -> dict:
    """``python train.py <overrides>`` into ``output_dir``; returns the run's metrics. The folder
    is a run folder like any other: ``load_run``, ``eval.py`` and ``predict.py`` open it."""
    filter_third_party_noise()
    cfg = compose_config(*overrides, output_dir=output_dir)
    saved_overrides = Path(cfg.paths.output_dir) / ".hydra" / "overrides.yaml"
    saved_overrides.parent.mkdir(parents=True, exist_ok=True)
    OmegaConf.save(OmegaConf.create(list(overrides)), saved_overrides)  # what @hydra.main saves
    return experiment.train(cfg)
