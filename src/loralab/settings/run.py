"""The top level of ``conf/train.yaml`` and ``paths``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from omegaconf import MISSING

from loralab.settings.checks import require_int, require_text
from loralab.settings.data import SEED_LIMIT


@dataclass
class PathsSettings:
    config_key: ClassVar[str] = "paths"

    data_dir: str = "data"
    cache_dir: str = ".cache/loralab"
    output_dir: str = MISSING

    def __post_init__(self) -> None:
        for key in ("data_dir", "cache_dir", "output_dir"):
            require_text(self, key)


@dataclass
class RunSettings:
    """One run: the config groups (each typed by its own option's schema) and the keys of the top
    level, which ``conf/train.yaml`` comments."""

    config_key: ClassVar[str] = ""

    task_name: str = "train"
    seed: int = 42
    test: bool = True
    ckpt_path: str | None = None
    optimized_metric: str = "val/acc_best"
    data: Any = MISSING
    model: Any = MISSING
    optim: Any = MISSING
    trainer: Any = MISSING
    paths: Any = MISSING
    logger: Any = None
    callbacks: Any = None

    def __post_init__(self) -> None:
        require_text(self, "task_name")
        require_int(self, "seed", 0, SEED_LIMIT)
        require_text(self, "ckpt_path", optional=True)
        require_text(self, "optimized_metric")
