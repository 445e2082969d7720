"""Token ids of a whole split in two flat tensors, cached on disk by data and tokenizer."""

from __future__ import annotations

import hashlib
from functools import cached_property
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch.utils.data import Dataset

from loralab.atomic_files import atomic_write
from loralab.data.text_split import TextSplit


class Encoder(Protocol):
    def encode(self, texts: list[str]) -> list[list[int]]: ...

    def fingerprint(self) -> str: ...


class EncodedSplit(Dataset):
    """Example ``i`` is ``ids[offsets[i]:offsets[i+1]]`` (cut to ``max_length``) and ``labels[i]``.

    Flat tensors load in milliseconds and pickle cheaply to DataLoader workers, unlike lists of lists.
    """

    def __init__(
        self,
        ids: torch.Tensor,
        offsets: torch.Tensor,
        labels: torch.Tensor,
        max_length: int | None = None,
        pad_id: int = 0,
        pad_to_multiple_of: int | None = None,
    ) -> None:
        self.ids = ids
        self.offsets = offsets
        self.labels = labels
        self.max_length = max_length
        self.pad_id = pad_id
        self.pad_to_multiple_of = pad_to_multiple_of

    @classmethod
    def from_lists(cls, token_ids: list[list[int]], labels: list[int], **batching) -> EncodedSplit:
        """``batching``: ``max_length``, ``pad_id``, ``pad_to_multiple_of`` as in the constructor."""
        lengths = torch.tensor([len(ids) for ids in token_ids], dtype=torch.int64)
        offsets = torch.zeros(len(token_ids) + 1, dtype=torch.int64)
        torch.cumsum(lengths, dim=0, out=offsets[1:])
        flat = torch.from_numpy(
            np.concatenate([np.asarray(ids, dtype=np.int32) for ids in token_ids] or [np.zeros(0, np.int32)])
        )
        return cls(flat, offsets, torch.tensor(labels, dtype=torch.int64), **batching)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        start, end = self.offsets[index].item(), self.offsets[index + 1].item()
        if self.max_length is not None:
            end = min(end, start + self.max_length)
        return self.ids[start:end], self.labels[index]

    def __getitems__(self, indices: list[int]) -> dict[str, torch.Tensor]:
        """A whole padded batch in a few array operations (the DataLoader asks for batches this way
        when a dataset offers it). NumPy, not torch: for arrays this small torch's per-operation
        overhead (and its thread pool, when the cores are busy) dominates. The examples' slices are
        joined with one ``concatenate``: cheaper than gathering a batch x width index array."""
        index = np.asarray(indices, dtype=np.int64)
        offsets = self.offsets.numpy()
        starts = offsets[index]
        lengths = offsets[index + 1] - starts
        if self.max_length is not None:
            lengths = np.minimum(lengths, self.max_length)
        positions = np.arange(self._batch_width(int(lengths.max()) if len(index) else 0))
        attention_mask = positions < lengths[:, None]
        input_ids = np.full(attention_mask.shape, self.pad_id, dtype=np.int64)
        ids = self.ids.numpy()
        ends = starts + lengths
        input_ids[attention_mask] = np.concatenate(
            [ids[start:end] for start, end in zip(starts.tolist(), ends.tolist())] or [ids[:0]]
        )
        return {
            "input_ids": torch.from_numpy(input_ids),
            "attention_mask": torch.from_numpy(attention_mask.astype(np.int64)),
            "labels": self.labels[torch.from_numpy(index)],
        }

    def _batch_width(self, longest: int) -> int:
        """The batch's longest example, rounded up to ``pad_to_multiple_of`` but never past the
        split's longest example (a model's position limit) or ``max_length``; at least 1."""
        if self.pad_to_multiple_of:
            rounded = -(-longest // self.pad_to_multiple_of) * self.pad_to_multiple_of
            longest = min(rounded, self._longest_example, self.max_length or rounded)
        return max(longest, 1)

    @cached_property
    def _longest_example(self) -> int:
        """From the offsets alone, which never change (``max_length`` may be set later)."""
        return int(self._uncut_lengths().max()) if len(self) else 0

    def _uncut_lengths(self) -> torch.Tensor:
        return self.offsets[1:] - self.offsets[:-1]

    def lengths(self) -> torch.Tensor:
        lengths = self._uncut_lengths()
        return lengths.clamp(max=self.max_length) if self.max_length is not None else lengths


def encode_cached(
    split: TextSplit, encoder: Encoder, cache_dir: str | Path, split_fingerprint: str | None = None, **batching
) -> EncodedSplit:
    """Encode ``split``, or load it from ``cache_dir`` if this data and tokenizer were seen before
    (``split_fingerprint``: ``split.fingerprint()`` when the caller has it already). ``batching``
    (``max_length``, ``pad_id``, ``pad_to_multiple_of``) shapes the batches, not the cached ids."""
    key = hashlib.sha256(((split_fingerprint or split.fingerprint()) + encoder.fingerprint()).encode()).hexdigest()[:32]
    path = Path(cache_dir) / "tokens" / f"{key}.safetensors"
    if path.is_file():
        tensors = load_file(path)
        return EncodedSplit(tensors["ids"], tensors["offsets"], tensors["labels"], **batching)
    encoded = EncodedSplit.from_lists(encoder.encode(split.texts), split.labels, **batching)
    tensors = {"ids": encoded.ids, "offsets": encoded.offsets, "labels": encoded.labels}
    atomic_write(path, lambda tmp: save_file(tensors, str(tmp)))
    return encoded
