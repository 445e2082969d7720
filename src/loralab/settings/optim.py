"""``optim``: the optimizer and the learning-rate schedule (one class per option of ``conf/optim``).

``_target_`` and ``_partial_`` are set here, once: the LightningModule calls the partial with the
trainable parameters (and the scheduler with the optimizer and the run's step count).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from loralab.settings.checks import is_number, require, require_choice, require_fraction, require_int

LORAPLUS_RATIO_LIMIT = 1e4  # the LoRA+ paper uses 2 to 32; far beyond, B's steps are meaningless


def _positive(settings: Any, key: str) -> None:
    value = getattr(settings, key)
    require(is_number(value) and value > 0, settings, key, "use a number > 0")


def _non_negative(settings: Any, key: str) -> None:
    value = getattr(settings, key)
    require(is_number(value) and value >= 0, settings, key, "use a number >= 0")


@dataclass
class AdamWSettings:
    config_key: ClassVar[str] = "optim.optimizer"

    _target_: str = "torch.optim.AdamW"
    _partial_: bool = True
    lr: float = 1.0e-3
    weight_decay: float = 0.01
    fused: bool | None = None

    def __post_init__(self) -> None:
        _positive(self, "lr")
        _non_negative(self, "weight_decay")


@dataclass
class SGDSettings:
    config_key: ClassVar[str] = "optim.optimizer"

    _target_: str = "torch.optim.SGD"
    _partial_: bool = True
    lr: float = 1.0e-3
    momentum: float = 0.0
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        _positive(self, "lr")
        _non_negative(self, "momentum")
        _non_negative(self, "weight_decay")


@dataclass
class WarmupDecaySettings:
    config_key: ClassVar[str] = "optim.scheduler"

    _target_: str = "loralab.training.schedules.linear_warmup_decay"
    _partial_: bool = True
    warmup_ratio: float = 0.06

    def __post_init__(self) -> None:
        require_fraction(self, "warmup_ratio")


@dataclass
class StepLRSettings:
    config_key: ClassVar[str] = "optim.scheduler"

    _target_: str = "torch.optim.lr_scheduler.StepLR"
    _partial_: bool = True
    step_size: int = 1
    gamma: float = 0.1

    def __post_init__(self) -> None:
        require_int(self, "step_size", 1)
        _positive(self, "gamma")


@dataclass
class OptimSettings:
    """An option of ``conf/optim``: ``optimizer`` and ``scheduler`` are the classes above.

    ``loraplus_lr_ratio``: LoRA+ (Hayou et al. 2024, https://arxiv.org/abs/2402.12354), B's learning
    rate over A's, everything else at the optimizer's rate; null trains every tensor at one rate.
    ``lora_fa``: LoRA-FA (Zhang et al. 2023, https://arxiv.org/abs/2308.03303), A stays at its
    initial value and only B (and a DoRA magnitude) trains. Both need ``model.lora``.
    """

    config_key: ClassVar[str] = "optim"

    optimizer: Any = None
    scheduler: Any = None
    scheduler_interval: str = "epoch"
    loraplus_lr_ratio: float | None = None
    lora_fa: bool = False

    def __post_init__(self) -> None:
        require(self.optimizer is not None, self, "optimizer", "pick an optimizer (optim=adamw, adamw_warmup, lab_sgd)")
        require_choice(self, "scheduler_interval", ("epoch", "step"))
        ratio = self.loraplus_lr_ratio
        ok = ratio is None or (is_number(ratio) and 0 < ratio <= LORAPLUS_RATIO_LIMIT)
        require(ok, self, "loraplus_lr_ratio", f"use null (off) or a number in (0, {LORAPLUS_RATIO_LIMIT:g}], e.g. 16")
        require(isinstance(self.lora_fa, bool), self, "lora_fa", "use true or false")
