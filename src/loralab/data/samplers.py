"""The order of examples. Training: a function of the seed and the epoch only, so a resumed run sees
the same batches as an uninterrupted one (Lightning calls ``set_epoch`` before each epoch).
Evaluation: a fixed seeded order that never follows the file's, because data files are often sorted
by label and a partial pass (``fast_dev_run``, ``limit_test_batches``) would then see one class."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import Sampler


class EpochShuffleSampler(Sampler[int]):
    """A random permutation drawn from ``seed + epoch``; unlike ``RandomSampler`` it does not read
    the global RNG, whose state a run resumed from a checkpoint does not get back."""

    def __init__(self, num_examples: int, seed: int = 0) -> None:
        self.num_examples = num_examples
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.num_examples

    def _generator(self) -> torch.Generator:
        return torch.Generator().manual_seed(self.seed + self.epoch)

    def __iter__(self) -> Iterator[int]:
        return iter(torch.randperm(self.num_examples, generator=self._generator()).tolist())


class EvaluationOrderSampler(Sampler[int]):
    """One seeded permutation, the same every epoch: any first batches are a random sample of the split."""

    def __init__(self, num_examples: int, seed: int = 0) -> None:
        self.num_examples = num_examples
        self.seed = seed

    def __len__(self) -> int:
        return self.num_examples

    def __iter__(self) -> Iterator[int]:
        return iter(evaluation_permutation(self.num_examples, self.seed).tolist())


def evaluation_permutation(num_examples: int, seed: int) -> torch.Tensor:
    return torch.randperm(num_examples, generator=torch.Generator().manual_seed(seed))


class LengthGroupedSampler(EpochShuffleSampler):
    """Indices in an order whose consecutive ``batch_size`` chunks have similar lengths: shuffle, cut
    into mega-batches of ``batch_size * mega_batch_factor``, sort each by length, cut into batches,
    shuffle the batches (transformers' LengthGroupedSampler scheme); far less padding.

    It orders single indices, so the DataLoader's own batching and Lightning's distributed sampler
    wrapping still apply. Without ``shuffle`` (evaluation) the order is longest first, equal lengths
    (many, when texts are cut to ``max_length``) in a seeded random order rather than the file's.
    """

    def __init__(
        self, lengths: torch.Tensor, batch_size: int, shuffle: bool = True, seed: int = 0, mega_batch_factor: int = 50
    ) -> None:
        super().__init__(len(lengths), seed)
        self.lengths = lengths
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.mega_batch_factor = mega_batch_factor

    def __iter__(self) -> Iterator[int]:
        if not self.shuffle:
            order = evaluation_permutation(len(self.lengths), self.seed)
            return iter(order[torch.argsort(self.lengths[order], descending=True, stable=True)].tolist())
        generator = self._generator()
        order = torch.randperm(len(self.lengths), generator=generator)
        batches: list[torch.Tensor] = []
        for chunk in order.split(self.batch_size * self.mega_batch_factor):
            chunk = chunk[torch.argsort(self.lengths[chunk], descending=True, stable=True)]
            batches.extend(chunk.split(self.batch_size))
        # Only the very last batch can be short; it stays last so that the DataLoader's chunks of
        # batch_size are exactly these batches.
        full, short = (batches[:-1], batches[-1:]) if len(batches[-1]) < self.batch_size else (batches, [])
        shuffled = [full[i] for i in torch.randperm(len(full), generator=generator).tolist()] + short
        return iter(torch.cat(shuffled).tolist() if shuffled else [])
