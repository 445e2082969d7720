"""One LightningDataModule for every text classification data set; a data set is a YAML file."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol

import lightning as L
import torch
from lightning.fabric.utilities.distributed import DistributedSamplerWrapper
from torch.utils.data import DataLoader

from loralab.data.collate import PadCollator
from loralab.data.content_checks import check_classes
from loralab.data.encoded_split import EncodedSplit, encode_cached
from loralab.data.samplers import EpochShuffleSampler, EvaluationOrderSampler, LengthGroupedSampler
from loralab.data.sources import load_raw_data
from loralab.data.text_split import TextSplit, random_subset, train_val_split
from loralab.settings.data import DataSettings

log = logging.getLogger(__name__)


class Tokenizer(Protocol):
    """What the DataModule needs of a tokenizer (``WordTokenizer``, or a pretrained model's)."""

    pad_id: int

    def fit(self, train: TextSplit, cache_dir: str | Path) -> None: ...

    def encode(self, texts: list[str]) -> list[list[int]]: ...

    def fingerprint(self) -> str: ...


class TextClassificationDataModule(L.LightningDataModule):
    """Loads a data set (see ``sources.load_raw_data``), splits off a seeded validation set, fits the
    tokenizer on the training split and serves padded batches.

    Everything expensive (vocabulary, token ids) is cached in ``cache_dir`` keyed by content, so the
    second run, or every job of a sweep, skips it. ``settings`` is the checked ``data`` config node.
    """

    def __init__(self, settings: DataSettings, tokenizer: Tokenizer) -> None:
        super().__init__()
        self.settings = settings
        self.name = settings.name
        self.num_classes = settings.num_classes
        self.label_names = settings.names()
        self.tokenizer = tokenizer
        self.source = {"path": settings.path, "data_dir": settings.data_dir, "hub_id": settings.hub_id}
        self.text_column, self.label_column = settings.text_column, settings.label_column
        self.encoding = settings.encoding
        self.val_fraction, self.test_fraction = settings.val_fraction, settings.test_fraction
        self.max_train_samples, self.max_test_samples = settings.max_train_samples, settings.max_test_samples
        self.max_length = settings.max_length
        self.batch_size = settings.batch_size
        self.eval_batch_size = settings.eval_batch_size or settings.batch_size
        self.group_by_length = settings.group_by_length
        self.pad_to_multiple_of = settings.pad_to_multiple_of
        self.num_workers, self.pin_memory = settings.num_workers, settings.pin_memory
        self.seed = settings.seed
        self.cache_dir = Path(settings.cache_dir)
        self.splits: dict[str, EncodedSplit] = {}
        self.data_source: str | None = None
        self.data_fingerprints: dict[str, dict] = {}  # rows and sha256 of each split, for run_info.json
        self.test_texts: list[str] = []  # the test split's raw texts, for showing misclassified ones

    def prepare_data(self) -> None:
        self._build()

    def setup(self, stage: str | None = None) -> None:
        self._build()

    def _build(self) -> None:
        if self.splits:
            return
        raw = load_raw_data(
            self.name,
            **self.source,
            text_column=self.text_column,
            label_column=self.label_column,
            encoding=self.encoding,
            test_fraction=self.test_fraction,
            seed=self.seed,
        )
        train = random_subset(raw.train, self.max_train_samples, self.seed)
        train, val = train_val_split(train, self.val_fraction, self.seed)
        text_splits = {"train": train, "val": val, "test": random_subset(raw.test, self.max_test_samples, self.seed)}
        for split_name, split in text_splits.items():
            self._check_split(split_name, split)
            self.data_fingerprints[split_name] = {"rows": len(split), "sha256": split.fingerprint()}
        self.test_texts = text_splits["test"].texts
        self.tokenizer.fit(train, self.cache_dir)
        for split_name, split in text_splits.items():
            self.splits[split_name] = encode_cached(
                split,
                self.tokenizer,
                self.cache_dir,
                self.data_fingerprints[split_name]["sha256"],
                max_length=self.max_length,
                pad_id=self.tokenizer.pad_id,
                pad_to_multiple_of=self.pad_to_multiple_of,
            )
        self.data_source = raw.source
        log.info("%s from %s: %s", self.name, raw.source, ", ".join(f"{k} {len(v)}" for k, v in self.splits.items()))

    def _check_split(self, split_name: str, split: TextSplit) -> None:
        if len(split) == 0 and not (split_name == "val" and self.val_fraction == 0):
            raise ValueError(
                f"the {split_name} split of {self.name} is empty; raise data.max_train_samples / data.max_test_samples "
                "or data.val_fraction"
            )
        if len(split):
            check_classes(self.name, split_name, split, self.num_classes)

    def dataloader(self, split: str, shuffle: bool = False) -> DataLoader:
        """Batches of ``train``, ``val`` or ``test``; evaluation order is seeded, never the file's."""
        if not self.splits:
            raise RuntimeError("the DataModule has no data yet; call prepare_data() or setup() first")
        if split not in self.splits:
            raise ValueError(f"unknown split {split!r}; choose one of {', '.join(self.splits)}")
        dataset = self.splits[split]
        batch_size = self.batch_size if shuffle else self.eval_batch_size
        shards = self._process_shards()
        if self.group_by_length:  # the batches grouped are the global ones (every process's share of a step)
            processes = shards["num_replicas"] if shards else 1
            sampler = LengthGroupedSampler(dataset.lengths(), batch_size * processes, shuffle, self.seed)
        else:
            sampler = (EpochShuffleSampler if shuffle else EvaluationOrderSampler)(len(dataset), self.seed)
        if shards:
            sampler = DistributedSamplerWrapper(sampler, shuffle=False, **shards)
        return DataLoader(
            dataset,
            batch_size=batch_size,
            sampler=sampler,
            collate_fn=PadCollator(self.tokenizer.pad_id),
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            persistent_workers=self.num_workers > 0,
            # Its own generator: each new iterator draws a seed from it, and one drawn from the global
            # RNG would shift a resumed run's dropout masks (the iterator of a restarted epoch is made
            # before the checkpoint's RNG states are restored, an uninterrupted run's after).
            generator=torch.Generator().manual_seed(self.seed),
        )

    def _process_shards(self) -> dict[str, int] | None:
        """Under DDP, this process's share of the one seeded order: ``num_replicas`` and ``rank``.

        Process ``r`` of ``n`` takes every ``n``-th index from ``r``, so one step's global batch holds
        the examples one process would have batched at ``n`` times the per-process batch size. Lightning's
        own wrapper would shuffle the training order once more, by its own seed: other batches than
        one process sees, and metrics that differ by more than rounding."""
        shards = self.trainer.distributed_sampler_kwargs if self.trainer is not None else None
        return shards if shards and shards["num_replicas"] > 1 else None

    def train_dataloader(self) -> DataLoader:
        return self.dataloader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self.dataloader("val")

    def test_dataloader(self) -> DataLoader:
        return self.dataloader("test")
