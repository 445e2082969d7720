"""A split of raw examples: texts and integer labels, with the seeded selections the DataModule needs."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

import torch


@dataclass(frozen=True, eq=False)  # compared by identity: one file read is one object, selections of it cached
class TextSplit:
    texts: list[str]
    labels: list[int]
    origin: str = ""  # the file (or Hub data set) the rows come from, for messages

    def __len__(self) -> int:
        return len(self.texts)

    def select(self, indices: list[int]) -> TextSplit:
        return TextSplit([self.texts[i] for i in indices], [self.labels[i] for i in indices], self.origin)

    def fingerprint(self) -> str:
        """sha256 of the content: the cache key of anything computed from this split."""
        return self._content_sha256

    @functools.cached_property
    def _content_sha256(self) -> str:  # once per split object: a cached file read returns the same one
        digest = hashlib.sha256()
        for text, label in zip(self.texts, self.labels):
            digest.update(f"{label}\t{len(text)}\t".encode())
            digest.update(text.encode("utf-8", "surrogatepass"))
        return digest.hexdigest()


def seeded_permutation(n: int, seed: int) -> list[int]:
    generator = torch.Generator().manual_seed(seed)
    return torch.randperm(n, generator=generator).tolist()


# The jobs of a multirun select the same rows of the same (cached) file read: the selections, and
# the sha256 each one caches, are made once per process.
@functools.lru_cache(maxsize=8)
def random_subset(split: TextSplit, max_samples: int | None, seed: int) -> TextSplit:
    """A seeded random subset (the real files are ordered by label, so the first rows would not do)."""
    if max_samples is None or max_samples >= len(split):
        return split
    return split.select(sorted(seeded_permutation(len(split), seed)[:max_samples]))


@functools.lru_cache(maxsize=8)
def train_val_split(split: TextSplit, val_fraction: float, seed: int) -> tuple[TextSplit, TextSplit]:
    """Shuffle with ``seed`` and hold out ``val_fraction`` of the rows (at least one if the fraction is > 0)."""
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"data.val_fraction must be in [0, 1), got {val_fraction}")
    order = seeded_permutation(len(split), seed)
    n_val = max(1, round(len(split) * val_fraction)) if val_fraction > 0 else 0
    return split.select(order[n_val:]), split.select(order[:n_val])
