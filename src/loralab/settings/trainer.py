"""``trainer``: the Lightning Trainer keys loralab's configs set, typed; any other Trainer argument
can still be added (``+trainer.<argument>=<value>``) and Lightning checks it.

Each default is Lightning's own (tests/test_settings.py compares them with ``Trainer.__init__``),
so a key the YAML leaves out behaves as if it were not there. Lightning is not imported here:
composing a config stays light.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from loralab.settings.checks import is_int, is_number, require, require_int

ACCELERATORS = ("auto", "cpu", "gpu", "cuda", "mps", "tpu", "hpu")
PRECISIONS = ("32-true", "32", "16-mixed", "bf16-mixed", "16-true", "bf16-true", "64-true", "64", "16", "bf16")


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
    default_root_dir: str | None = None
    max_epochs: int | None = None
    min_epochs: int | None = None
    max_steps: int = -1
    accelerator: str = "auto"
    devices: Any = "auto"
    num_nodes: int = 1
    strategy: str = "auto"
    sync_batchnorm: bool = False
    precision: Any = None
    log_every_n_steps: int | None = None
    num_sanity_val_steps: int | None = None
    deterministic: Any = None
    gradient_clip_val: float | None = None
    accumulate_grad_batches: int = 1
    check_val_every_n_epoch: int | None = 1
    val_check_interval: Any = None
    enable_progress_bar: bool | None = None
    enable_model_summary: bool | None = None
    enable_checkpointing: bool | None = None
    fast_dev_run: Any = False
    overfit_batches: Any = 0.0
    limit_train_batches: Any = None
    limit_val_batches: Any = None
    limit_test_batches: Any = None
    profiler: str | None = None
    detect_anomaly: bool = False
    plugins: Any = None

    def __post_init__(self) -> None:
        epochs = self.max_epochs
        ok = epochs is None or (is_int(epochs) and (epochs >= 1 or epochs == -1))
        require(ok, self, "max_epochs", "use an integer >= 1, -1 (no limit: trainer.max_steps ends the run) or null")
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
