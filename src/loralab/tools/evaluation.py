"""Evaluate a finished run's model (base + adapter, or the saved network) on any split.

The model comes from the run folder (``runs/open_run.py``). The data is the run's own, as
``run_config.json`` records it, changed by what the user types: a data set (``data=ag_news``),
single settings (``data.max_test_samples=500``) or folders (``paths.data_dir=...``), composed
with loralab's own ``conf/``. The cache folder is always the user's (``paths.cache_dir``), never
one a folder names.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import lightning as L
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig, open_dict

from loralab.atomic_files import atomic_write_json
from loralab.data import TextClassificationDataModule
from loralab.data.content_checks import content_not_quoted
from loralab.files.safe_paths import folder_output, regular_file
from loralab.overrides import override_key
from loralab.runs.open_run import open_run, take_base_argument
from loralab.runs.run_config import RUN_CONFIG_FILE
from loralab.settings import DataSettings, settings_of
from loralab.tools.run_arguments import refuse_overwrite
from loralab.training.classification_module import TextClassificationModule

# A user's override of one of these keys changes the data setting beside it.
PATH_SETTINGS = {"paths.data_dir": "data_dir", "seed": "seed"}
# Keys with which the user chooses the data files; without one, run_config.json chose them.
USER_DATA_CHOICE = ("data", "data.path", "data.data_dir", "paths.data_dir")


def compose_user_config(config_dir: Path, overrides: list[str], run_dir: Path) -> DictConfig:
    """loralab's ``conf/`` with the user's overrides: the defaults for anything the run does not fix.
    The run folder stands in for Hydra's output folder, which keys such as ``trainer.default_root_dir``
    point at (there is no Hydra run here to set it)."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(config_dir.resolve()), version_base="1.3"):
        cfg = compose(config_name="train", overrides=overrides)
    with open_dict(cfg):
        cfg.paths.output_dir = str(run_dir)
    return cfg


def data_for_eval(recorded: DataSettings, composed: DataSettings, overrides: list[str]) -> DataSettings:
    """The run's data settings, with what the user typed on top (``data=<name>`` replaces them all)."""
    keys = {override_key(o) for o in overrides}
    if "data" in keys:
        return composed
    data = dataclasses.asdict(recorded) | {"cache_dir": composed.cache_dir}
    for key in keys:
        setting = key.removeprefix("data.") if key.startswith("data.") else PATH_SETTINGS.get(key)
        if setting in data:
            data[setting] = getattr(composed, setting)
    if data["path"] and Path(data["path"]).exists() and not Path(data["path"]).is_dir():
        regular_file(data["path"])  # a device or fifo would hang the reader
    return DataSettings(**data)


def evaluate_run(
    run_dir: str | Path, config_dir: str | Path, overrides: list[str] = (), split: str = "test", force: bool = False
) -> dict:
    """Metrics of the run's model on ``split`` of its data (or of ``data=...`` in ``overrides``);
    also written to ``<run>/eval/<data>_<split>.json``, which is kept if it exists unless ``force``."""
    run_dir = Path(run_dir)
    base, overrides = take_base_argument(list(overrides))
    cfg = compose_user_config(Path(config_dir), overrides, run_dir)
    settings = settings_of(cfg)
    run = open_run(run_dir, base)
    data = data_for_eval(run.description["data"], settings.data, overrides)
    result_file = folder_output(run_dir, "eval", f"{data.name}_{split}.json")
    refuse_overwrite(result_file, force)
    user_chose_data = any(override_key(o) in USER_DATA_CHOICE for o in overrides)
    with content_not_quoted(None if user_chose_data else str(run_dir / RUN_CONFIG_FILE)):
        datamodule = TextClassificationDataModule(data, run.tokenizer)
        datamodule.prepare_data()
        datamodule.setup("fit")
    module = TextClassificationModule(run.net, datamodule.num_classes)
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
