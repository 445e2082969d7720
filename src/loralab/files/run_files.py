"""Where a run folder keeps what later runs, ``eval.py`` and ``predict.py`` read back."""

from __future__ import annotations

from pathlib import Path

from loralab.files.safe_paths import RunFolderError, regular_file
from loralab.terminal_text import escaped

VOCAB_FILE = "vocab.json"  # the tokenizer's exact vocabulary
MODEL_FILE = "model.safetensors"  # a run without LoRA: the whole trained network
BASE_MODEL_FILE = "base_model.safetensors"  # a LoRA run with no pretrained base: its frozen base
ADAPTER_DIR = "adapter"  # a LoRA run: adapter_model.safetensors + adapter_config.json
METRICS_FILE = "metrics.json"

PRETRAIN_HINT = "create one with: python train.py experiment=agnews_pretrain (its run folder is the path to pass)"


def _stays_in(folder: Path, path: Path) -> Path:
    """``path``, a file of ``folder``: a link out of it would make the run record (and trust, by
    its sha256) a file the folder's owner never put there."""
    resolved = path.resolve()
    if not resolved.is_relative_to(folder.resolve()):
        raise RunFolderError(
            f"{escaped(path)} leads out of {escaped(folder)} (to {escaped(resolved)}); pass the folder that holds "
            "the file itself, or the file's own path"
        )
    return regular_file(path)


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
            return _stays_in(folder, folder / filename)
    raise FileNotFoundError(f"no {filename} in or above {path}: is it a loralab run folder? {PRETRAIN_HINT}")
