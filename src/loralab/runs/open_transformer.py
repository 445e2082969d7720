"""Open a transformer run (PEFT LoRA or full fine-tuning on a BERT-family backbone) from its folder.

Each file is read as data by its own checker, and every failure is one line naming the file and
the key (or tensor): ``run_config.json`` (``runs/run_config.py``), the backbone's ``config.json``
(``runs/backbone_config.py``), its weights (``runs/backbone_weights.py``), the tokenizer folder
(``runs/run_tokenizer.py``), and the adapter or whole-model weights, whose headers are compared
with the rebuilt network's tensors before they are loaded. Whatever a library still raises comes
out as a :class:`RunFolderError` naming the run folder, never as a raw exception.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

from loralab.files.run_files import MODEL_FILE
from loralab.files.safe_paths import RunFolderError, folder_file, folder_tree
from loralab.files.safetensors_header import read_safetensors_header
from loralab.lora.peft_format import PEFT_MODEL_PREFIX
from loralab.models import apply_peft_lora
from loralab.runs.backbone_config import read_backbone_config
from loralab.runs.backbone_weights import build_backbone
from loralab.runs.base_reference import BACKBONE_CONFIG, backbone_folder
from loralab.runs.run_config import RUN_CONFIG_FILE
from loralab.runs.run_tokenizer import check_tokenizer_settings, open_run_tokenizer
from loralab.terminal_text import escaped

PEFT_WEIGHTS = "adapter_model.safetensors"


def check_tensors_fit(path: Path, expected: dict[str, tuple[int, ...]], record: Path) -> None:
    """The tensors of ``path`` (by its header) are exactly ``expected``, name by name and shape by shape."""
    shapes = read_safetensors_header(path)
    for name in sorted(set(shapes) - set(expected)):
        raise RunFolderError(
            f"{escaped(path)}: tensor {escaped(name)} is not one of the model that {escaped(record)} describes; "
            "the weights belong to another model or were edited"
        )
    for name in sorted(set(expected) - set(shapes)):
        raise RunFolderError(
            f"{escaped(path)}: tensor {escaped(name)} is missing; the model that {escaped(record)} describes needs it"
        )
    for name in sorted(expected):
        if tuple(shapes[name]) != tuple(expected[name]):
            raise RunFolderError(
                f"{escaped(path)}: tensor {escaped(name)} has shape {list(shapes[name])}, but the model that "
                f"{escaped(record)} describes needs {list(expected[name])}; the weights belong to another model or were edited"
            )


def _load_checked(net: nn.Module, path: Path, tensors: Any) -> None:
    try:
        tensors(load_file(path))
    except (OSError, SafetensorError) as error:
        raise RunFolderError(f"cannot read {escaped(path)} ({escaped(error)}); the file is damaged") from None


def _add_adapter(net: nn.Module, run: dict, run_dir: Path, record: Path, missing: set[str]) -> nn.Module:
    from peft.utils import get_peft_model_state_dict, set_peft_model_state_dict

    lora = run["lora"]
    # Recorded keys are full module names; escaped, PEFT's pattern match of them is a string comparison.
    settings = dataclasses.replace(
        lora,
        rank_pattern={re.escape(name): value for name, value in lora.rank_pattern.items()},
        alpha_pattern={re.escape(name): value for name, value in lora.alpha_pattern.items()},
    )
    try:
        net = apply_peft_lora(net, settings)
    except ValueError as error:  # a recorded module name that this backbone lacks
        raise RunFolderError(
            f"{escaped(record)}: keys lora.target_modules / lora.modules_to_save do not fit the backbone "
            f"({escaped(error)[:300]})"
        ) from None
    weights = folder_file(run_dir, Path(run["adapter"]) / PEFT_WEIGHTS)
    expected = {name: tuple(tensor.shape) for name, tensor in get_peft_model_state_dict(net).items()}
    check_tensors_fit(weights, expected, record)
    held = {name.removeprefix(PEFT_MODEL_PREFIX) for name in expected}
    for name in sorted(missing - held):
        raise RunFolderError(
            f"{escaped(weights)}: tensor {PEFT_MODEL_PREFIX}{name} is missing, and the backbone's weights do not hold "
            f"{name} either: the opened network would not be the one trained (train with model.lora.modules_to_save "
            "naming the new head)"
        )
    _load_checked(net, weights, lambda tensors: set_peft_model_state_dict(net, tensors))
    return net


def _open(run_dir: Path, run: dict, base: str | Path | None) -> tuple[nn.Module, Any]:
    record = run_dir / RUN_CONFIG_FILE
    tokenizer_dir = folder_tree(run_dir, run["tokenizer"]["folder"])
    check_tokenizer_settings(tokenizer_dir)
    backbone = backbone_folder(run_dir, run["base"], base, str(record))
    if BACKBONE_CONFIG not in run["base"]["files"]:
        raise RunFolderError(
            f"{escaped(record)}: key base.files lacks {BACKBONE_CONFIG}; nothing verifies the backbone"
        )
    config = read_backbone_config(backbone / BACKBONE_CONFIG)
    tokenizer = open_run_tokenizer(tokenizer_dir, config, run["tokenizer"]["max_length"])
    net, missing = build_backbone(backbone, run["base"]["files"], config, run["num_classes"], run["net"], record)
    if run["lora"] is None:
        weights = folder_file(run_dir, MODEL_FILE)
        check_tensors_fit(weights, {name: tuple(t.shape) for name, t in net.state_dict().items()}, record)
        _load_checked(net, weights, lambda tensors: net.load_state_dict(tensors))
    else:
        net = _add_adapter(net, run, run_dir, record, missing)
    return net.eval(), tokenizer


def open_transformer_run(run_dir: Path, run: dict, base: str | Path | None) -> tuple[nn.Module, Any]:
    """The run's network (eval mode) and tokenizer; ``base`` replaces the recorded backbone folder."""
    try:
        return _open(run_dir, run, base)
    except (RunFolderError, FileNotFoundError, MemoryError):
        raise
    except Exception as error:  # a library's own type (TypeError, KeyError, RuntimeError...): one line still
        line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise RunFolderError(
            f"cannot open the transformer run in {escaped(run_dir)} ({type(error).__name__}: {escaped(line)[:300]}); "
            "a file of the run or its backbone is damaged or crafted"
        ) from error
