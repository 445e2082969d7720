"""``trainer``: the Lightning Trainer keys loralab's configs set, typed; any other Trainer argument
can still be added (``+trainer.<argument>=<value>``) and Lightning checks it.

A default is Lightning's own (read from ``Trainer.__init__``), so a key the YAML leaves out
behaves as if it were not there.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, ClassVar

from lightning.pytorch import Trainer

from loralab.settings.checks import is_int, is_number, require, require_int

_LIGHTNING = inspect.signature(Trainer.__init__).parameters
ACCELERATORS = ("auto", "cpu", "gpu", "cuda", "mps", "tpu", "hpu")
PRECISIONS = ("32-true", "32", "16-mixed", "bf16-mixed", "16-true", "bf16-true", "64-true", "64", "16", "bf16")


def lightning(name: str) -> Any:
    """Lightning's default for Trainer argument ``name``, as a dataclass default."""
    default = _LIGHTNING[name].default
    return field(default_factory=lambda: default) if isinstance(default, (list, dict)) else default


def _batches(value: Any) -> bool:
    """A count of batches (int >= 0) or a share of them (a float in [0, 1])."""
    return value is None or (is_int(value) and value >= 0) or (isinstance(value, float) and 0 <= value <= 1)


def _devices(value: Any) -> bool:
    if is_int(value):
        return value >= 1 or value == -1
    if isinstance(value, str):
        return value == "auto" or value.replace(",", "").isdigit()
    return isinstance(value, list) and all(is_int(v) and v >= 0 for v in value)


@dataclass
class TrainerSettings:
    config_key: ClassVar[str] = "trainer"

    _target_: str = "lightning.pytorch.Trainer"
    default_root_dir: str | None = lightning("default_root_dir")
    max_epochs: int | None = lightning("max_epochs")
    min_epochs: int | None = lightning("min_epochs")
    max_steps: int = lightning("max_steps")
    accelerator: str = lightning("accelerator")
    devices: Any = lightning("devices")
    num_nodes: int = lightning("num_nodes")
    strategy: str = lightning("strategy")
    sync_batchnorm: bool = lightning("sync_batchnorm")
    precision: Any = lightning("precision")
    log_every_n_steps: int | None = lightning("log_every_n_steps")
    num_sanity_val_steps: int | None = lightning("num_sanity_val_steps")
    deterministic: Any = lightning("deterministic")
    gradient_clip_val: float | None = lightning("gradient_clip_val")
    accumulate_grad_batches: int = lightning("accumulate_grad_batches")
    check_val_every_n_epoch: int | None = lightning("check_val_every_n_epoch")
    val_check_interval: Any = lightning("val_check_interval")
    enable_progress_bar: bool | None = lightning("enable_progress_bar")
    enable_model_summary: bool | None = lightning("enable_model_summary")
    enable_checkpointing: bool | None = lightning("enable_checkpointing")
    fast_dev_run: Any = lightning("fast_dev_run")
    overfit_batches: Any = lightning("overfit_batches")
    limit_train_batches: Any = lightning("limit_train_batches")
    limit_val_batches: Any = lightning("limit_val_batches")
    limit_test_batches: Any = lightning("limit_test_batches")
    profiler: str | None = lightning("profiler")
    detect_anomaly: bool = lightning("detect_anomaly")
    plugins: Any = lightning("plugins")

    def __post_init__(self) -> None:
        require_int(self, "max_epochs", 1, optional=True)
        require_int(self, "min_epochs", 0, optional=True)
        require_int(self, "max_steps", -1)
        require(self.accelerator in ACCELERATORS, self, "accelerator", f"use one of {', '.join(ACCELERATORS)}")
        require(_devices(self.devices), self, "devices", "use a count >= 1, -1, 'auto' or a list of device ids")
        require_int(self, "num_nodes", 1)
        require(
            self.precision is None or self.precision in (*PRECISIONS, 16, 32, 64),
            self,
            "precision",
            f"use one of {', '.join(PRECISIONS)}",
        )
        require_int(self, "log_every_n_steps", 1, optional=True)
        require_int(self, "num_sanity_val_steps", -1, optional=True)
        require(self.deterministic in (True, False, None, "warn"), self, "deterministic", "use true, false or warn")
        value = self.gradient_clip_val
        require(
            value is None or (is_number(value) and value >= 0), self, "gradient_clip_val", "use a number >= 0 or null"
        )
        require_int(self, "accumulate_grad_batches", 1)
        require_int(self, "check_val_every_n_epoch", 1, optional=True)
        for key in (
            "val_check_interval",
            "overfit_batches",
            "limit_train_batches",
            "limit_val_batches",
            "limit_test_batches",
        ):
            require(_batches(getattr(self, key)), self, key, "use a count of batches (>= 0) or a share in [0, 1]")
        require(
            self.fast_dev_run is False
            or self.fast_dev_run is True
            or (is_int(self.fast_dev_run) and self.fast_dev_run >= 0),
            self,
            "fast_dev_run",
            "use true, false or a number of batches",
        )
        if self.min_epochs is not None and self.max_epochs is not None and self.min_epochs > self.max_epochs:
            require(False, self, "min_epochs", f"lower it to trainer.max_epochs={self.max_epochs} or less")
