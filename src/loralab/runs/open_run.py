"""Rebuild a finished run's network from its folder: ``run_config.json`` (plain values), the
weights or adapter, the tokenizer files and the verified base. Nothing from the folder is
instantiated, replayed through Hydra, or allowed to pick code: each model family is one of
loralab's own builders, called with checked values."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

from loralab.runs.base_reference import base_file
from loralab.runs.run_config import RUN_CONFIG_FILE, read_run_config
from loralab.runs.run_files import MODEL_FILE
from loralab.runs.safe_paths import RunFolderError, folder_file


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
        raise RunFolderError(f"cannot read {path} ({error}); the file is damaged") from None


def _load_whole(net: nn.Module, path: Path) -> None:
    try:
        net.load_state_dict(_tensors(path))
    except RuntimeError as error:
        raise RunFolderError(f"{path} does not fit the model run_config.json describes ({str(error)[:200]})") from None


def _open_text_classifier(run_dir: Path, run: dict, base: str | Path | None) -> OpenedRun:
    from loralab.data import WordTokenizer
    from loralab.lora import apply_lora
    from loralab.models import TextClassifier
    from loralab.models.pretrained import load_state_dict
    from loralab.runs.lora_adapter import load_adapter

    tokenizer = WordTokenizer(vocab_path=folder_file(run_dir, run["tokenizer"]["vocab"]))
    settings = run["net"]
    net = TextClassifier(
        vocab_size=len(tokenizer.vocab),
        num_classes=run["num_classes"],
        embed_dim=settings["embed_dim"],
        hidden_dim=settings["hidden_dim"],
        freeze_embeddings=settings["freeze_embeddings"],
        padding_idx=tokenizer.pad_id,
        word_dropout=settings["word_dropout"],
        count_each_word_once=settings["count_each_word_once"],
    )
    lora = run["lora"]
    if lora is None:
        _load_whole(net, folder_file(run_dir, MODEL_FILE))
        return OpenedRun(net.eval(), tokenizer, run["label_names"], run)
    base_path = base_file(run_dir, run["base"], base, str(run_dir / RUN_CONFIG_FILE))
    own = net.state_dict()
    # A pretrained base may have another head size: the adapter then holds the trained head.
    state = {k: v for k, v in load_state_dict(base_path).items() if k in own and v.shape == own[k].shape}
    net.load_state_dict(state, strict=False)
    not_in_base = set(own) - set(state)
    net = apply_lora(net, **{key: value for key, value in lora.items() if key not in ("kind", "adapter")})
    adapter_weights = folder_file(run_dir, Path(lora["adapter"]) / "adapter_model.safetensors")
    load_adapter(net, adapter_weights.parent)
    missing = sorted(not_in_base - set(_tensors(adapter_weights)))
    if missing:
        raise RunFolderError(
            f"neither the base {base_path} nor {adapter_weights} holds {', '.join(missing)}; the run folder is incomplete"
        )
    return OpenedRun(net.eval(), tokenizer, run["label_names"], run)


def _open_hf_classifier(run_dir: Path, run: dict, base: str | Path | None) -> OpenedRun:
    from loralab.runs.open_transformer import open_transformer_run  # each file read as data, errors by file and key

    return open_transformer_run(run_dir, run, base)


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
