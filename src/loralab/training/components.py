"""Turn a composed config into the objects of a run: DataModule, LightningModule, Trainer."""

from __future__ import annotations

import os
from pathlib import Path

import lightning as L
from omegaconf import DictConfig

from loralab.data import TextClassificationDataModule
from loralab.data.content_checks import content_not_quoted
from loralab.instantiate import instantiate
from loralab.models.pretrained import resolve_weights_file
from loralab.runs.resume import data_named_by_folder
from loralab.settings import RunSettings, TextClassifierModel, TransformerModel, settings_of
from loralab.training.classification_module import TextClassificationModule
from loralab.training.model_builders import add_adapters, build_net, build_tokenizer, compiled


def build_datamodule(cfg: DictConfig, settings: RunSettings | None = None) -> TextClassificationDataModule:
    """The DataModule with its data loaded and tokenizer fitted (the model's size depends on it).
    ``settings``: ``settings_of(cfg)``, when the caller has it already (a sweep job's few seconds)."""
    settings = settings or settings_of(cfg)
    with content_not_quoted(data_named_by_folder(settings.paths.output_dir)):
        datamodule = TextClassificationDataModule(settings.data, build_tokenizer(settings.model, settings.data))
        datamodule.prepare_data()
        datamodule.setup("fit")
    return datamodule


def frozen_base_path(model: TextClassifierModel | TransformerModel, output_dir: str) -> str | None:
    """Where a LoRA run's frozen base is read from, relative to the run folder when it is a local
    path: the backbone folder (or Hub id), the pretrained run's weights, or None (built from the seed)."""
    if isinstance(model, TransformerModel):
        source = model.backbone
    else:
        source = resolve_weights_file(model.pretrained) if model.pretrained else None
    if source is None:
        return None
    if not Path(source).exists():  # a Hub id
        return str(source)
    return os.path.relpath(Path(source).resolve(), Path(output_dir).resolve())


def build_module(
    cfg: DictConfig, datamodule: TextClassificationDataModule, settings: RunSettings | None = None
) -> TextClassificationModule:
    """The LightningModule: network, adapters, optimizer and schedule. A LoRA run's checkpoints
    hold only what trains (the frozen base is what the run is built from). ``settings`` as above."""
    settings = settings or settings_of(cfg)
    model = settings.model
    lora = model.lora is not None
    net = build_net(model, datamodule.num_classes, datamodule.tokenizer)
    return TextClassificationModule(
        net=compiled(add_adapters(model, net), model.compile),
        num_classes=datamodule.num_classes,
        optimizer=instantiate(cfg.optim.optimizer),
        scheduler=instantiate(cfg.optim.scheduler) if cfg.optim.scheduler else None,
        scheduler_interval=settings.optim.scheduler_interval,
        checkpoint_trainable_only=lora,
        frozen_base_path=frozen_base_path(model, settings.paths.output_dir) if lora else None,
        lora_fa=settings.optim.lora_fa,
        loraplus_lr_ratio=settings.optim.loraplus_lr_ratio,
    )


def build_trainer(cfg: DictConfig) -> L.Trainer:
    """The Trainer with every configured callback and logger that has a ``_target_``."""
    callbacks = [instantiate(c) for c in (cfg.get("callbacks") or {}).values() if c and "_target_" in c]
    loggers = [instantiate(c) for c in (cfg.get("logger") or {}).values() if c and "_target_" in c]
    return instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False)
