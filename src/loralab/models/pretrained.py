"""Read a TextClassifier's weights from a run folder, a Lightning checkpoint or a safetensors file."""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_file

from loralab.cli_errors import first_line
from loralab.files.run_files import MODEL_FILE, PRETRAIN_HINT, find_run_file
from loralab.files.safe_paths import regular_file
from loralab.files.safetensors_header import read_safetensors_header
from loralab.terminal_text import escaped

TEXT_CLASSIFIER_KEYS = {"embedding.weight", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}


def resolve_weights_file(pretrained: str | Path) -> Path:
    """A ``.ckpt`` or ``.safetensors`` file as given, else the run folder's ``model.safetensors``."""
    path = Path(pretrained)
    if path.is_file() and path.suffix in (".ckpt", ".safetensors"):
        return path
    return find_run_file(path, MODEL_FILE)


def load_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Tensors only: safetensors, or a Lightning checkpoint read with ``weights_only=True``."""
    if path.suffix == ".safetensors":
        read_safetensors_header(path)  # its stated size is the file's: nothing crafted gets allocated
    regular_file(path)
    try:
        if path.suffix == ".safetensors":
            return load_file(path)
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # safetensors and torch raise several types for a damaged file
        raise ValueError(
            f"cannot read checkpoint {escaped(path)} ({type(error).__name__}: {escaped(first_line(error))[:200]}); "
            "it is damaged or not a checkpoint"
        ) from None
    state = checkpoint.get("state_dict", checkpoint)
    return {key.removeprefix("net."): value for key, value in state.items() if key.startswith("net.")} or state


def read_text_classifier_weights(pretrained: str | Path) -> tuple[Path, dict[str, torch.Tensor]]:
    """The weights file and its TextClassifier tensors; anything else is refused by name."""
    path = resolve_weights_file(pretrained)
    state = load_state_dict(path)
    if set(state) != TEXT_CLASSIFIER_KEYS:
        raise ValueError(
            f"{path} is not a plain TextClassifier checkpoint (it has {', '.join(sorted(state)[:6])}); "
            f"pass the run folder of a full training run. {PRETRAIN_HINT}"
        )
    return path, state
