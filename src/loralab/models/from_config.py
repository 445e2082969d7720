"""A run's network from its composed config: ``model.net``, then ``model.lora``, then compiling.

Training builds a fresh network this way and a finished run's folder rebuilds it the same way, so
both live here, below ``training/`` and ``runs/``."""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig, OmegaConf
from torch import nn

from loralab.instantiate import instantiate


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
