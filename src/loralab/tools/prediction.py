"""Label new texts with a finished run's model."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from loralab.data import PadCollator
from loralab.runs.open_run import open_run


def predict_texts(
    run_dir: str | Path, texts: list[str], batch_size: int = 256, base: str | Path | None = None
) -> list[tuple[str, float]]:
    """The most probable label name and its probability for each text."""
    run = open_run(run_dir, base)
    return label_texts(run.net, run.tokenizer, run.label_names, texts, batch_size)


@torch.no_grad()
def label_texts(
    net: nn.Module, tokenizer, label_names: Sequence[str], texts: list[str], batch_size: int = 256
) -> list[tuple[str, float]]:
    """``net``'s most probable label name and its probability for each text, in batches."""
    collate = PadCollator(tokenizer.pad_id)
    predictions = []
    for start in range(0, len(texts), batch_size):
        chunk = tokenizer.encode(texts[start : start + batch_size])
        batch = collate([(torch.tensor(ids, dtype=torch.int64), torch.tensor(0)) for ids in chunk])
        output = net(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
        probabilities = torch.softmax(getattr(output, "logits", output).float(), dim=-1)
        best = probabilities.max(dim=-1)
        predictions += [(label_names[i], p) for i, p in zip(best.indices.tolist(), best.values.tolist())]
    return predictions
