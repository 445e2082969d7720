"""Save a run's trained network, and describe it in ``run_config.json`` with plain values.

A run without LoRA saves the whole network (``model.safetensors``). A LoRA run saves only its
adapter, which points at its base by a path relative to the run folder and a sha256: the
pretrained run it started from, the run's own ``base_model.safetensors`` when it had none, or the
transformer backbone. ``runs/open_run.py`` rebuilds the network from these files alone.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
from pathlib import Path

from omegaconf import DictConfig
from safetensors.torch import save_file
from torch import nn

from loralab.atomic_files import atomic_write
from loralab.files.run_files import ADAPTER_DIR, BASE_MODEL_FILE, MODEL_FILE, VOCAB_FILE
from loralab.lora import base_state_dict, lora_layers, plain_settings
from loralab.models.pretrained import resolve_weights_file
from loralab.models.text_classifier import TextClassifier
from loralab.runs.base_reference import backbone_reference, file_reference
from loralab.runs.lora_adapter import save_adapter
from loralab.runs.peft_adapter import is_peft_model, save_peft_adapter
from loralab.runs.run_config import LORA_KIND, write_run_config
from loralab.settings import LoraSettings, RunSettings, TransformerModel, settings_of

log = logging.getLogger(__name__)


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


def _resolved(lora: LoraSettings, adapted: dict) -> LoraSettings:
    """``lora`` with its targets as full module names and its patterns as per-module values
    (only where a module's rank or alpha is not the default)."""
    ranks = adapted["ranks"]
    return dataclasses.replace(
        lora,
        target_modules=adapted["target_modules"],
        rank_pattern={name: rank for name, rank, _ in ranks if rank != lora.rank},
        alpha_pattern={name: alpha for name, _, alpha in ranks if alpha != lora.alpha},
    )


def describe_run(settings: RunSettings, family: str, base: dict | None, adapted: dict | None) -> dict:
    """What rebuilds the network, as the plain values of the run's settings (``net``, ``lora``,
    ``data``) beside the tokenizer files and the base. ``adapted`` (:func:`adapted_modules`)
    replaces the LoRA patterns by what they matched."""
    model, data = settings.model, settings.data
    if family == "textclassifier":
        tokenizer = {"kind": "word", "vocab": VOCAB_FILE}
    else:
        tokenizer = {"kind": "pretrained", "folder": "tokenizer", "max_length": data.max_length}
    lora = None
    if model.lora is not None and adapted is not None:
        # The adapter as saved: for the unmodified base (a pissa or olora one converted, lora/plain_adapter.py).
        recorded = plain_settings(_resolved(model.lora, adapted))
        lora = {"kind": LORA_KIND[family], "adapter": ADAPTER_DIR, **dataclasses.asdict(recorded)}
    # The cache is the machine's, not the run's: whoever opens the folder uses their own.
    recorded_data = {key: value for key, value in dataclasses.asdict(data).items() if key != "cache_dir"}
    return {
        "family": family,
        "num_classes": data.num_classes,
        "label_names": data.names(),
        "net": dataclasses.asdict(model.net),
        "tokenizer": tokenizer,
        "lora": lora,
        "base": base,
        "data": recorded_data,
    }


def save_run_model(net: nn.Module, cfg: DictConfig, output_dir: Path, settings: RunSettings | None = None) -> dict:
    """Write the trained network and ``run_config.json`` into the run folder; returns metrics about
    what was written. ``settings``: ``settings_of(cfg)``, when the caller has it already."""
    output_dir = Path(output_dir)
    settings = settings or settings_of(cfg)
    family = _family(net)
    has_lora = is_peft_model(net) or next(lora_layers(net), None) is not None
    base = None
    if isinstance(settings.model, TransformerModel):
        base = backbone_reference(settings.model.backbone, output_dir)
    if is_peft_model(net):
        written = {"adapter_bytes": save_peft_adapter(net, output_dir / ADAPTER_DIR, base["path"] or base["hub_id"])}
    elif not has_lora:
        written = {"model_bytes": _save_tensors(output_dir / MODEL_FILE, net.state_dict()).stat().st_size}
    else:
        pretrained = getattr(settings.model, "pretrained", None)
        base_file = (
            resolve_weights_file(pretrained)
            if pretrained
            else _save_tensors(output_dir / BASE_MODEL_FILE, base_state_dict(net))
        )
        if family == "textclassifier":
            base = file_reference(base_file, output_dir)
        adapter = output_dir / ADAPTER_DIR
        written = {"adapter_bytes": save_adapter(net, adapter, settings.model.lora, base_file, output_dir / VOCAB_FILE)}
    if family is None or (has_lora and family == "hf_classifier" and not is_peft_model(net)):
        log.warning(
            "%s cannot be described by plain values: eval.py, predict.py and export.py will refuse this run",
            type(net).__name__,
        )
        return written
    adapted = adapted_modules(net) if has_lora else None
    write_run_config(output_dir, describe_run(settings, family, base, adapted))
    return written
