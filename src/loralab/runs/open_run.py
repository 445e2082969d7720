"""Rebuild a finished run's network from its folder: ``run_config.json`` (plain values), the
weights or adapter, the tokenizer files and the verified base. Nothing from the folder is
instantiated, replayed through Hydra, or allowed to pick code: each model family is one of
loralab's own builders, called with checked values."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

from loralab.data import WordTokenizer
from loralab.files.run_files import MODEL_FILE
from loralab.files.safe_paths import RunFolderError, folder_file
from loralab.files.safetensors_header import read_safetensors_header
from loralab.lora import apply_lora
from loralab.models import build_text_classifier
from loralab.models.pretrained import load_state_dict
from loralab.runs.base_reference import base_file
from loralab.runs.lora_adapter import load_adapter
from loralab.runs.open_transformer import open_transformer_run
from loralab.runs.run_config import RUN_CONFIG_FILE, read_run_config
from loralab.terminal_text import escaped


@dataclass
class OpenedRun:
    """A run's trained network (eval mode), its tokenizer and what its classes are called."""

    net: nn.Module
    tokenizer: Any
    label_names: list[str]
    description: dict


def _tensors(path: Path) -> dict:
    try:
        return load_file(path)
    except (OSError, SafetensorError) as error:
        raise RunFolderError(f"cannot read {escaped(path)} ({escaped(error)}); the file is damaged") from None


def _load_whole(net: nn.Module, path: Path) -> None:
    try:
        net.load_state_dict(_tensors(path))
    except RuntimeError as error:
        raise RunFolderError(
            f"{escaped(path)} does not fit the model run_config.json describes ({escaped(error)[:200]})"
        ) from None


def _text_classifier(run: dict, tokenizer: Any) -> nn.Module:
    """The builder training used, with the recorded settings (no base, no GloVe: weights follow)."""
    return build_text_classifier(tokenizer.vocab, run["num_classes"], run["net"])


def _check_shapes(run_dir: Path, expected: dict[str, tuple], files: list[Path], complete: bool = True) -> None:
    """Each tensor in ``expected`` is in one of ``files`` (the first that holds it) with that shape:
    read from the headers, before anything of the size run_config.json states is allocated."""
    headers = [(path, read_safetensors_header(path)) for path in files]
    for name, shape in expected.items():
        path, found = next(((path, header[name]) for path, header in headers if name in header), (None, None))
        if path is None and not complete:  # the rest is in a checkpoint file, checked as it loads
            continue
        if path is None:
            raise RunFolderError(
                f"no weights file of the run holds {escaped(name)} ({', '.join(escaped(p) for p in files)}); "
                "the run folder is incomplete"
            )
        if found != shape:
            raise RunFolderError(
                f"{escaped(path)}: tensor {escaped(name)} has shape {list(found)}, but "
                f"{escaped(run_dir / RUN_CONFIG_FILE)} (net, num_classes, lora) and the vocabulary describe "
                f"{list(shape)}; the folder is damaged"
            )


def _meta_shapes(build, trainable_only: bool = False) -> dict[str, tuple]:
    """The tensor shapes of the network ``build()`` makes, on PyTorch's meta device (no storage)."""
    with torch.device("meta"):
        net = build()
    if trainable_only:
        return {name: tuple(p.shape) for name, p in net.named_parameters() if p.requires_grad}
    return {name: tuple(t.shape) for name, t in net.state_dict().items()}


def _open_text_classifier(run_dir: Path, run: dict, base: str | Path | None) -> OpenedRun:
    tokenizer = WordTokenizer(vocab_path=folder_file(run_dir, run["tokenizer"]["vocab"]))
    plain = _meta_shapes(lambda: _text_classifier(run, tokenizer))
    lora = run["lora"]
    if lora is None:
        weights = folder_file(run_dir, MODEL_FILE)
        _check_shapes(run_dir, plain, [weights])
        net = _text_classifier(run, tokenizer)
        _load_whole(net, weights)
        return OpenedRun(net.eval(), tokenizer, run["label_names"], run)
    base_path = base_file(run_dir, run["base"], base, str(run_dir / RUN_CONFIG_FILE))
    adapter_weights = folder_file(run_dir, Path(run["adapter"]) / "adapter_model.safetensors")
    # A pretrained base may have another head size: the adapter then holds the trained head.
    safetensors_base = base_path.suffix == ".safetensors"
    _check_shapes(run_dir, plain, [adapter_weights, base_path][: 1 + safetensors_base], safetensors_base)
    trained = _meta_shapes(lambda: apply_lora(_text_classifier(run, tokenizer), lora), trainable_only=True)
    _check_shapes(run_dir, trained, [adapter_weights])
    net = _text_classifier(run, tokenizer)
    own = net.state_dict()
    state = {k: v for k, v in load_state_dict(base_path).items() if k in own and v.shape == own[k].shape}
    net.load_state_dict(state, strict=False)
    not_in_base = set(own) - set(state)
    net = apply_lora(net, lora)
    load_adapter(net, adapter_weights.parent)
    missing = sorted(not_in_base - set(_tensors(adapter_weights)))
    if missing:
        raise RunFolderError(
            f"neither the base {escaped(base_path)} nor {escaped(adapter_weights)} holds {', '.join(missing)}; "
            "the run folder is incomplete"
        )
    return OpenedRun(net.eval(), tokenizer, run["label_names"], run)


def _open_hf_classifier(run_dir: Path, run: dict, base: str | Path | None) -> OpenedRun:
    net, tokenizer = open_transformer_run(run_dir, run, base)  # each file read as data, errors by file and key
    return OpenedRun(net, tokenizer, run["label_names"], run)


FAMILIES = {"textclassifier": _open_text_classifier, "hf_classifier": _open_hf_classifier}


def open_run(run_dir: str | Path, base: str | Path | None = None) -> OpenedRun:
    """The trained network of ``run_dir``. ``base`` (``model.pretrained=<path>`` on the command line)
    replaces the recorded path of a base outside the folder; either way its sha256 is checked."""
    run_dir = Path(run_dir)
    run = read_run_config(run_dir)
    return FAMILIES[run["family"]](run_dir, run, base)


BASE_ARGUMENTS = ("model.pretrained=", "+model.pretrained=", "model.backbone=", "+model.backbone=")


def take_base_argument(args: list[str]) -> tuple[str | None, list[str]]:
    """``model.pretrained=<path>`` (or ``model.backbone=``) from the command line, and the other arguments."""
    base = None
    rest = []
    for arg in args:
        if arg.startswith(BASE_ARGUMENTS):
            base = arg.split("=", 1)[1]
        else:
            rest.append(arg)
    return base, rest
