"""Save a run's trained network, and rebuild it later from the run folder alone.

A run without LoRA saves the whole network (``model.safetensors``). A LoRA run saves only its
adapter, which points at its base by path and sha256: the pretrained run it started from, or the
run's own ``base_model.safetensors`` when it had none.
"""

from __future__ import annotations

from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig, OmegaConf, open_dict
from safetensors.torch import load_file, save_file
from torch import nn

from loralab.atomic_files import atomic_write
from loralab.lora import base_state_dict, lora_layers
from loralab.models.from_config import add_adapters, build_net
from loralab.models.pretrained import resolve_weights_file
from loralab.runs.lora_adapter import (
    check_base_model,
    load_adapter,
    read_adapter_config,
    save_adapter,
)
from loralab.runs.peft_adapter import (
    is_peft_adapter,
    is_peft_model,
    load_peft_adapter,
    save_peft_adapter,
)
from loralab.runs.run_files import ADAPTER_DIR, BASE_MODEL_FILE, MODEL_FILE, VOCAB_FILE


def _save_tensors(path: Path, tensors: dict) -> Path:
    tensors = {k: v.detach().contiguous() for k, v in tensors.items()}
    return atomic_write(path, lambda tmp: save_file(tensors, str(tmp)))


def save_run_model(net: nn.Module, cfg: DictConfig, output_dir: Path) -> dict:
    """Write the trained network into the run folder; returns metrics about what was written."""
    if is_peft_model(net):
        return {"adapter_bytes": save_peft_adapter(net, output_dir / ADAPTER_DIR, cfg.model.backbone)}
    if next(lora_layers(net), None) is None:
        return {"model_bytes": _save_tensors(output_dir / MODEL_FILE, net.state_dict()).stat().st_size}
    pretrained = cfg.model.get("pretrained")
    base = (
        resolve_weights_file(pretrained)
        if pretrained
        else _save_tensors(output_dir / BASE_MODEL_FILE, base_state_dict(net))
    )
    lora = OmegaConf.to_container(cfg.model.lora, resolve=True)
    adapter_bytes = save_adapter(net, output_dir / ADAPTER_DIR, lora, base, output_dir / VOCAB_FILE)
    return {"adapter_bytes": adapter_bytes}


def compose_run_config(run_dir: Path, config_dir: Path, overrides: list[str] = ()) -> DictConfig:
    """The run's config, composed again from its saved overrides plus ``overrides`` (which may
    swap a group, e.g. ``data=ag_news``), with the run folder as output folder."""
    saved_overrides_file = run_dir / ".hydra" / "overrides.yaml"
    if not saved_overrides_file.is_file():
        raise FileNotFoundError(
            f"{run_dir} is not a run folder (no .hydra/overrides.yaml); pass a folder under outputs/ or multirun/"
        )
    saved = [o for o in OmegaConf.load(saved_overrides_file) if not o.lstrip("+~").startswith("hydra.")]
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(config_dir.resolve()), version_base="1.3"):
        cfg = compose(config_name="train", overrides=[*saved, *overrides])
    with open_dict(cfg):
        cfg.paths.output_dir = str(run_dir)
        if "vocab_path" in cfg.model.tokenizer:  # a word vocabulary is the run's own
            cfg.model.tokenizer.vocab_path = str(run_dir / VOCAB_FILE)
    return cfg


def load_run_net(cfg: DictConfig, run_dir: Path, tokenizer) -> nn.Module:
    """The trained network of ``run_dir``: base + adapter for LoRA runs, else the saved model."""
    adapter_dir = run_dir / ADAPTER_DIR
    if not adapter_dir.is_dir():
        net = build_net(cfg, tokenizer)
        net.load_state_dict(load_file(run_dir / MODEL_FILE))
        return net.eval()
    if is_peft_adapter(adapter_dir):
        return load_peft_adapter(build_net(cfg, tokenizer), adapter_dir, cfg.model.backbone).eval()
    adapter_config = read_adapter_config(adapter_dir)
    base = Path(adapter_config["base_model"]["path"])
    check_base_model(adapter_config, base)
    pretrained = bool(cfg.model.get("pretrained"))
    if pretrained:  # the base file the adapter names, wherever the run was started from
        with open_dict(cfg):
            cfg.model.pretrained = str(base)
    net = build_net(cfg, tokenizer)
    if not pretrained:
        net.load_state_dict(load_file(base))
    net = add_adapters(cfg, net)
    load_adapter(net, adapter_dir)
    return net.eval()
