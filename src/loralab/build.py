"""Turn a composed config into the objects of a run: DataModule, model, Trainer."""

from __future__ import annotations

from typing import Any

import lightning as L
from hydra.errors import InstantiationException
from hydra.utils import instantiate as hydra_instantiate
from omegaconf import DictConfig, OmegaConf
from torch import nn

from loralab.classification_module import TextClassificationModule
from loralab.data import TextClassificationDataModule


def instantiate(config: Any, **kwargs: Any) -> Any:
    """Hydra's ``instantiate``, but a target's own error comes out as itself, not wrapped in
    Hydra's ``InstantiationException``, so the user reads the message that names the fix."""
    try:
        return hydra_instantiate(config, **kwargs)
    except InstantiationException as error:
        cause = error.__cause__
        while isinstance(cause, InstantiationException):
            cause = cause.__cause__
        if cause is None:
            raise
        raise cause from None


def build_datamodule(cfg: DictConfig) -> TextClassificationDataModule:
    """The DataModule with its data loaded and tokenizer fitted (the model's size depends on it)."""
    datamodule = instantiate(cfg.data, tokenizer=instantiate(cfg.model.tokenizer))
    datamodule.prepare_data()
    datamodule.setup("fit")
    return datamodule


def build_net(cfg: DictConfig, tokenizer) -> nn.Module:
    """``model.net`` sized for the tokenizer, before any adapter."""
    # The vocabulary goes to the built partial, not through instantiate: OmegaConf would first copy
    # a 50,000-word dict into a config node, which takes seconds.
    return instantiate(cfg.model.net, _partial_=True)(**tokenizer.model_kwargs())


def add_adapters(cfg: DictConfig, net: nn.Module) -> nn.Module:
    """``net`` wrapped by ``model.lora`` when the config has one."""
    return instantiate(cfg.model.lora, model=net) if cfg.model.get("lora") else net


def compiled(net: nn.Module, options: Any) -> nn.Module:
    """``net`` compiled in place when ``model.compile`` asks for it (true, or a dict of
    ``torch.compile`` options). In place, not ``torch.compile(net)``: the wrapper that returns
    would prefix every state_dict key with ``_orig_mod.``, so checkpoints and adapters would no
    longer load into an uncompiled model."""
    if isinstance(options, DictConfig):
        options = OmegaConf.to_container(options)
    if options:
        net.compile(**(options if isinstance(options, dict) else {}))
    return net


def build_module(cfg: DictConfig, datamodule: TextClassificationDataModule) -> TextClassificationModule:
    """The LightningModule: network, adapters, optimizer and schedule."""
    return TextClassificationModule(
        net=compiled(add_adapters(cfg, build_net(cfg, datamodule.tokenizer)), cfg.model.get("compile")),
        num_classes=datamodule.num_classes,
        optimizer=instantiate(cfg.optim.optimizer),
        scheduler=instantiate(cfg.optim.scheduler) if cfg.optim.get("scheduler") else None,
        scheduler_interval=cfg.optim.get("scheduler_interval", "epoch"),
    )


def build_trainer(cfg: DictConfig) -> L.Trainer:
    callbacks = [instantiate(c) for c in (cfg.get("callbacks") or {}).values() if c and "_target_" in c]
    loggers = [instantiate(c) for c in (cfg.get("logger") or {}).values() if c and "_target_" in c]
    return instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False)
