"""Batches of texts of similar length: far less padding, the same examples per epoch."""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch
from torch.utils.data import Sampler


class LengthGroupedBatchSampler(Sampler[list[int]]):
    """Shuffle, cut into mega-batches of ``batch_size * mega_batch_factor``, sort each by length,
    cut into batches and shuffle the batches (the scheme of transformers' LengthGroupedSampler).
    Without ``shuffle`` the batches simply go from longest to shortest, for evaluation.

    Each epoch draws a new order from ``seed`` and the epoch count, so runs are reproducible.
    """

    def __init__(self, lengths: torch.Tensor, batch_size: int, shuffle: bool = True, seed: int = 0, mega_batch_factor: int = 50) -> None:
        self.lengths = lengths
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.mega_batch_factor = mega_batch_factor
        self.epoch = 0

    def __len__(self) -> int:
        return math.ceil(len(self.lengths) / self.batch_size)

    def __iter__(self) -> Iterator[list[int]]:
        if not self.shuffle:
            order = torch.argsort(self.lengths, descending=True, stable=True)
            yield from (batch.tolist() for batch in order.split(self.batch_size))
            return
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        self.epoch += 1
        order = torch.randperm(len(self.lengths), generator=generator)
        batches: list[torch.Tensor] = []
        for chunk in order.split(self.batch_size * self.mega_batch_factor):
            chunk = chunk[torch.argsort(self.lengths[chunk], descending=True, stable=True)]
            batches.extend(chunk.split(self.batch_size))
        for index in torch.randperm(len(batches), generator=generator).tolist():
            yield batches[index].tolist()
