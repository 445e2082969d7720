"""The settings classes as Hydra schemas, and the checked settings of a composed config.

Each YAML option lists its schema first in its defaults list (``- /schema/data@_here_: data``),
so Hydra merges the YAML over the dataclass: an unknown key or a value of the wrong type fails
composition, naming the key.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from loralab.settings.checks import ConfigValueError
from loralab.settings.data import DataSettings
from loralab.settings.lora import LoraSettings
from loralab.settings.model import TextClassifierModel, TransformerModel
from loralab.settings.optim import AdamWSettings, OptimSettings, SGDSettings, StepLRSettings, WarmupDecaySettings
from loralab.settings.run import PathsSettings, RunSettings
from loralab.settings.trainer import TrainerSettings

SCHEMAS: dict[str, dict[str, type]] = {
    "schema": {"run": RunSettings},
    "schema/data": {"data": DataSettings},
    "schema/model": {"textclassifier": TextClassifierModel, "transformer": TransformerModel, "lora": LoraSettings},
    "schema/optim": {"optim": OptimSettings},
    "schema/optimizer": {"adamw": AdamWSettings, "sgd": SGDSettings},
    "schema/scheduler": {"warmup_decay": WarmupDecaySettings, "step_lr": StepLRSettings},
    "schema/trainer": {"trainer": TrainerSettings},
    "schema/paths": {"paths": PathsSettings},
}
TYPED_NODES = ("data", "model", "optim", "trainer", "paths")


def register_schemas() -> None:
    """Put every settings class in Hydra's ConfigStore (idempotent)."""
    store = ConfigStore.instance()
    for group, options in SCHEMAS.items():
        for name, node in options.items():
            store.store(
                group=None if group == "schema" else group,
                name=f"{name}_schema" if group == "schema" else name,
                node=node,
            )


def settings_of(cfg: DictConfig) -> RunSettings:
    """The composed config as settings objects, every range and cross-key rule checked: a bad value
    raises :class:`ConfigValueError` naming its key, the value and what is allowed."""
    try:
        top = {key: cfg.get(key) for key in ("task_name", "seed", "test", "ckpt_path", "optimized_metric")}
        RunSettings(**top)  # first: data.seed copies seed, and the user typed seed
        nodes: dict[str, Any] = {key: OmegaConf.to_object(cfg[key]) for key in TYPED_NODES}
    except OmegaConfBaseException as error:
        key = getattr(error, "full_key", None) or "a key"
        message = str(error).strip().splitlines()[0]
        raise ConfigValueError(
            "", str(key), "<unresolved>", f"fix the value or its interpolation ({message})"
        ) from None
    for node in nodes.values():
        _refuse_added_keys(node)
    return RunSettings(**top, **nodes, logger=cfg.get("logger"), callbacks=cfg.get("callbacks"))


def _refuse_added_keys(settings: Any) -> None:
    """A key added with ``+`` to a loralab node (``+model.lora.rnk=4``) would be set beside the
    fields and ignored; only the trainer takes arguments loralab does not type (Lightning checks them)."""
    if not dataclasses.is_dataclass(settings):
        return
    fields = {field.name for field in dataclasses.fields(settings)}
    if not isinstance(settings, TrainerSettings):
        for key in sorted(set(vars(settings)) - fields):
            known = ", ".join(sorted(name for name in fields if not name.startswith("_")))
            raise ConfigValueError(
                type(settings).config_key, key, getattr(settings, key), f"not a key here; use one of {known}"
            )
    for name in fields:
        _refuse_added_keys(getattr(settings, name))
