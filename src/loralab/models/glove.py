"""Initialise an embedding table from a GloVe text file, as the lab did."""

from __future__ import annotations

import logging
from pathlib import Path

import torch

log = logging.getLogger(__name__)


@torch.no_grad()
def load_glove(weight: torch.Tensor, vocab: dict[str, int], path: str | Path) -> int:
    """Copy the GloVe vector of each vocabulary word into ``weight`` (rows not in GloVe keep their
    initialisation). Returns how many rows were set."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"GloVe file {path} not found; set model.glove_path to a GloVe .txt file or null")
    dim = weight.shape[1]
    found = 0
    with path.open(encoding="utf-8") as lines:
        for line_number, line in enumerate(lines, start=1):
            word, _, rest = line.rstrip().partition(" ")
            row = vocab.get(word)
            if row is None:
                continue
            values = rest.split(" ")
            if len(values) != dim:
                raise ValueError(
                    f"{path}:{line_number} has {len(values)} values but the embedding has {dim}; "
                    f"set model.net.embed_dim={len(values)}"
                )
            weight[row] = torch.tensor([float(v) for v in values], dtype=weight.dtype)
            found += 1
    log.info("GloVe %s: %d of %d vocabulary words found", path.name, found, len(vocab))
    return found
