"""``optim``: the optimizer and the learning-rate schedule (one class per option of ``conf/optim``).

``_target_`` and ``_partial_`` are set here, once: the LightningModule calls the partial with the
trainable parameters (and the scheduler with the optimizer and the run's step count).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from loralab.settings.checks import is_number, require, require_choice, require_fraction, require_int


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
    """An option of ``conf/optim``: ``optimizer`` and ``scheduler`` are the classes above."""

    config_key: ClassVar[str] = "optim"

    optimizer: Any = None
    scheduler: Any = None
    scheduler_interval: str = "epoch"

    def __post_init__(self) -> None:
        require(self.optimizer is not None, self, "optimizer", "pick an optimizer (optim=adamw, adamw_warmup, lab_sgd)")
        require_choice(self, "scheduler_interval", ("epoch", "step"))
