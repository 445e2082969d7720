"""Where a run folder keeps what later runs, ``eval.py`` and ``predict.py`` read back."""

from __future__ import annotations

import hashlib
from pathlib import Path

VOCAB_FILE = "vocab.json"  # the tokenizer's exact vocabulary
MODEL_FILE = "model.safetensors"  # a run without LoRA: the whole trained network
BASE_MODEL_FILE = "base_model.safetensors"  # a LoRA run with no pretrained base: its frozen base
ADAPTER_DIR = "adapter"  # a LoRA run: adapter_model.safetensors + adapter_config.json
METRICS_FILE = "metrics.json"

PRETRAIN_HINT = "create one with: python train.py experiment=agnews_pretrain (its run folder is the path to pass)"


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def find_run_file(path: str | Path, filename: str) -> Path:
    """``path`` itself if it is a file named ``filename``, else ``filename`` in the folder ``path``
    or in the folders above a checkpoint file (``<run>/checkpoints/best.ckpt`` -> ``<run>/``)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist; {PRETRAIN_HINT}")
    if path.is_file() and path.name == filename:
        return path
    folders = [path] if path.is_dir() else list(path.parents)[:2]
    for folder in folders:
        if (folder / filename).is_file():
            return folder / filename
    raise FileNotFoundError(f"no {filename} in or above {path}: is it a loralab run folder? {PRETRAIN_HINT}")
