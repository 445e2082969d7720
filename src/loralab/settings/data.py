"""``data``: which data set, how it is split, and how batches are made."""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from typing import Any, ClassVar

from loralab.settings.checks import require, require_fraction, require_int, require_text

SEED_LIMIT = 2**32 - 1  # NumPy's seed range
CLASS_LIMIT = 100_000  # a head of this many classes; more is a crafted size, not a data set
LABEL_NAME_LIMIT = 200  # characters of a label name


def _is_encoding(value: Any) -> bool:
    try:
        codecs.lookup(value)
    except (LookupError, TypeError):
        return False
    return True


@dataclass
class DataSettings:
    """The keys of ``conf/data/*.yaml`` (each commented there); the DataModule takes this object."""

    config_key: ClassVar[str] = "data"

    name: str = "custom"
    num_classes: int = 2
    label_names: list[str] | None = None
    path: str | None = None
    data_dir: str | None = None
    hub_id: str | None = None
    text_column: str = "text"
    label_column: str = "label"
    encoding: str = "utf-8"
    val_fraction: float = 0.05
    test_fraction: float = 0.2
    max_train_samples: int | None = None
    max_test_samples: int | None = None
    max_length: int | None = None
    batch_size: int = 64
    eval_batch_size: int | None = None
    group_by_length: bool = False
    pad_to_multiple_of: int | None = None
    num_workers: int = 0
    pin_memory: bool = False
    seed: int = 0
    cache_dir: str = ".cache/loralab"

    def __post_init__(self) -> None:
        for key in ("name", "text_column", "label_column", "cache_dir"):
            require_text(self, key)
        for key in ("path", "data_dir", "hub_id"):
            require_text(self, key, optional=True)
        require_int(self, "num_classes", 2, CLASS_LIMIT)
        require(
            _is_encoding(self.encoding), self, "encoding", "use an encoding Python knows (utf-8, latin-1, cp1252...)"
        )
        require_fraction(self, "val_fraction")
        require_fraction(self, "test_fraction", lower_open=True)
        for key in ("max_train_samples", "max_test_samples", "max_length", "eval_batch_size", "pad_to_multiple_of"):
            require_int(self, key, 1, optional=True)
        require_int(self, "batch_size", 1)
        require_int(self, "num_workers", 0)
        require_int(self, "seed", 0, SEED_LIMIT)
        names = self.label_names
        if names is not None:
            names = [str(name) for name in names]
            short = all(0 < len(name) <= LABEL_NAME_LIMIT for name in names)
            require(short, self, "label_names", f"give names of 1 to {LABEL_NAME_LIMIT} characters")
            fix = f"give one name per class ({self.num_classes}, data.num_classes), in label order, or null"
            require(len(names) == self.num_classes, self, "label_names", fix)
            require(len(set(names)) == len(names), self, "label_names", "give each class its own name")
            self.label_names = names

    def names(self) -> list[str]:
        """The class names, "0", "1", ... where the data set names none."""
        return list(self.label_names) if self.label_names else [str(i) for i in range(self.num_classes)]
