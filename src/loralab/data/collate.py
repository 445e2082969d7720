"""Batches padded to their own longest sequence."""

from __future__ import annotations

import torch


class PadCollator:
    """``[(ids, label), ...]`` -> ``input_ids``, ``attention_mask`` (1 = real token), ``labels``.

    A class rather than a closure so that DataLoader workers can pickle it.
    """

    def __init__(self, pad_id: int) -> None:
        self.pad_id = pad_id

    def __call__(
        self, batch: list[tuple[torch.Tensor, torch.Tensor]] | dict[str, torch.Tensor]
    ) -> dict[str, torch.Tensor]:
        if isinstance(batch, dict):  # already padded by EncodedSplit.__getitems__
            return batch
        lengths = [len(ids) for ids, _ in batch]
        longest = max(max(lengths), 1)
        input_ids = torch.full((len(batch), longest), self.pad_id, dtype=torch.int64)
        attention_mask = torch.zeros((len(batch), longest), dtype=torch.int64)
        for row, ((ids, _), length) in enumerate(zip(batch, lengths)):
            input_ids[row, :length] = ids
            attention_mask[row, :length] = 1
        labels = torch.stack([label for _, label in batch])
        return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}
