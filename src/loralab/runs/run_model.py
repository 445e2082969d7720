"""Save a run's trained network, and describe it in ``run_config.json`` with plain values.

A run without LoRA saves the whole network (``model.safetensors``). A LoRA run saves only its
adapter, which points at its base by a path relative to the run folder and a sha256: the
pretrained run it started from, the run's own ``base_model.safetensors`` when it had none, or the
transformer backbone. ``runs/open_run.py`` rebuilds the network from these files alone.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from omegaconf import DictConfig, OmegaConf
from safetensors.torch import save_file
from torch import nn

from loralab.atomic_files import atomic_write
from loralab.files.run_files import ADAPTER_DIR, BASE_MODEL_FILE, MODEL_FILE, VOCAB_FILE
from loralab.lora import base_state_dict, lora_layers
from loralab.models.pretrained import resolve_weights_file
from loralab.models.text_classifier import TextClassifier
from loralab.runs.base_reference import backbone_reference, file_reference
from loralab.runs.lora_adapter import save_adapter
from loralab.runs.peft_adapter import is_peft_model, save_peft_adapter
from loralab.runs.run_config import data_settings, write_run_config

log = logging.getLogger(__name__)

LORA_KEYS = (
    "target_modules",
    "rank",
    "alpha",
    "dropout",
    "scaling",
    "modules_to_save",
    "freeze_embeddings",
    "rank_pattern",
    "alpha_pattern",
)
TEXT_CLASSIFIER_KEYS = ("embed_dim", "hidden_dim", "freeze_embeddings", "word_dropout", "count_each_word_once")


def _save_tensors(path: Path, tensors: dict) -> Path:
    tensors = {k: v.detach().contiguous() for k, v in tensors.items()}
    return atomic_write(path, lambda tmp: save_file(tensors, str(tmp)))


def _family(net: nn.Module) -> str | None:
    if isinstance(net, TextClassifier):
        return "textclassifier"
    transformers = sys.modules.get("transformers")
    if is_peft_model(net) or (transformers is not None and isinstance(net, transformers.PreTrainedModel)):
        return "hf_classifier"
    return None


def _plain(node) -> dict:
    return OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else dict(node)


def adapted_modules(net: nn.Module) -> dict:
    """The modules LoRA wrapped, by full name, with the rank and alpha each got: what the settings'
    patterns (a regex ``target_modules``, ``rank_pattern`` keys) resolved to on this network. A run
    records these, so opening it compares names as strings and compiles nothing it reads."""
    if is_peft_model(net):
        model = net.base_model.model
        layers = [(name, model.get_submodule(name)) for name in net.base_model.targeted_module_names]
        values = [(name, layer.r[net.active_adapter], layer.lora_alpha[net.active_adapter]) for name, layer in layers]
    else:
        values = [(name, layer.rank, layer.alpha) for name, layer in lora_layers(net)]
    return {"target_modules": [name for name, _, _ in values], "ranks": values}


def _resolved(lora: dict, adapted: dict) -> dict:
    """``lora`` with its targets as full module names and its patterns as per-module values
    (only where a module's rank or alpha is not the default)."""
    ranks = adapted["ranks"]
    return lora | {
        "target_modules": adapted["target_modules"],
        "rank_pattern": {name: rank for name, rank, _ in ranks if rank != lora["rank"]},
        "alpha_pattern": {name: alpha for name, _, alpha in ranks if alpha != lora["alpha"]},
    }


def describe_run(cfg: DictConfig, family: str, has_lora: bool, base: dict | None, adapted: dict | None = None) -> dict:
    """What rebuilds the network: sizes, LoRA settings, labels, tokenizer files, base, data (plain
    values). ``adapted`` (:func:`adapted_modules`) replaces the LoRA patterns by what they matched."""
    net = _plain(cfg.model.net)
    # The cache is the machine's, not the run's: whoever opens the folder uses their own.
    data = {key: value for key, value in _plain(cfg.data).items() if key in data_settings() and key != "cache_dir"}
    num_classes = int(cfg.data.num_classes)
    if family == "textclassifier":
        net_settings = {key: net[key] for key in TEXT_CLASSIFIER_KEYS}
        tokenizer = {"kind": "word", "vocab": VOCAB_FILE}
    else:
        net_settings = {"attn_implementation": net.get("attn_implementation"), "dtype": net.get("dtype", "float32")}
        tokenizer = {"kind": "pretrained", "folder": "tokenizer", "max_length": cfg.model.tokenizer.get("max_length")}
    lora = None
    if has_lora:
        settings = _plain(cfg.model.lora)
        lora = {"kind": "loralab" if family == "textclassifier" else "peft", "adapter": ADAPTER_DIR}
        lora |= {key: settings.get(key) for key in LORA_KEYS}
        lora["rank_pattern"] = lora["rank_pattern"] or {}
        lora["alpha_pattern"] = lora["alpha_pattern"] or {}
        lora["modules_to_save"] = list(lora["modules_to_save"] or [])
        if adapted is not None:
            lora = _resolved(lora, adapted)
    return {
        "family": family,
        "num_classes": num_classes,
        "label_names": [str(name) for name in (cfg.data.get("label_names") or range(num_classes))],
        "net": net_settings,
        "tokenizer": tokenizer,
        "lora": lora,
        "base": base,
        "data": data,
    }


def save_run_model(net: nn.Module, cfg: DictConfig, output_dir: Path) -> dict:
    """Write the trained network and ``run_config.json`` into the run folder; returns metrics about
    what was written."""
    output_dir = Path(output_dir)
    family = _family(net)
    has_lora = is_peft_model(net) or next(lora_layers(net), None) is not None
    base = None
    if family == "hf_classifier":
        base = backbone_reference(cfg.model.backbone, output_dir)
    if is_peft_model(net):
        written = {"adapter_bytes": save_peft_adapter(net, output_dir / ADAPTER_DIR, base["path"] or base["hub_id"])}
    elif not has_lora:
        written = {"model_bytes": _save_tensors(output_dir / MODEL_FILE, net.state_dict()).stat().st_size}
    else:
        pretrained = cfg.model.get("pretrained")
        base_file = (
            resolve_weights_file(pretrained)
            if pretrained
            else _save_tensors(output_dir / BASE_MODEL_FILE, base_state_dict(net))
        )
        if family == "textclassifier":
            base = file_reference(base_file, output_dir)
        lora = OmegaConf.to_container(cfg.model.lora, resolve=True)
        written = {
            "adapter_bytes": save_adapter(net, output_dir / ADAPTER_DIR, lora, base_file, output_dir / VOCAB_FILE)
        }
    if family is None or (has_lora and family == "hf_classifier" and not is_peft_model(net)):
        log.warning(
            "%s cannot be described by plain values: eval.py, predict.py and export.py will refuse this run",
            type(net).__name__,
        )
        return written
    adapted = adapted_modules(net) if has_lora else None
    write_run_config(output_dir, describe_run(cfg, family, has_lora, base, adapted))
    return written
