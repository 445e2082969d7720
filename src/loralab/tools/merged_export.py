"""Fold a LoRA run's adapter into its base and save a plain model that needs no LoRA code."""

from __future__ import annotations

import shutil
from pathlib import Path

from safetensors.torch import save_file

from loralab.atomic_files import atomic_write
from loralab.instantiate import instantiate
from loralab.lora import merge_and_unload
from loralab.runs.peft_adapter import is_peft_model
from loralab.runs.run_files import MODEL_FILE, VOCAB_FILE
from loralab.runs.run_model import compose_run_config, load_run_net


def export_merged(run_dir: str | Path, config_dir: str | Path, out_dir: str | Path) -> Path:
    """Transformers: a ``save_pretrained`` folder (model + tokenizer) that ``from_pretrained`` loads.
    TextClassifier: ``model.safetensors`` + ``vocab.json``, usable as ``+model.pretrained=<out_dir>``."""
    run_dir, out_dir = Path(run_dir), Path(out_dir)
    cfg = compose_run_config(run_dir, Path(config_dir))
    tokenizer = instantiate(cfg.model.tokenizer)
    net = load_run_net(cfg, run_dir, tokenizer)
    out_dir.mkdir(parents=True, exist_ok=True)
    if is_peft_model(net):
        net.merge_and_unload().save_pretrained(out_dir)
        tokenizer.tokenizer.save_pretrained(out_dir)
        return out_dir
    state = {k: v.contiguous() for k, v in merge_and_unload(net).state_dict().items()}
    atomic_write(out_dir / MODEL_FILE, lambda tmp: save_file(state, str(tmp)))
    shutil.copyfile(run_dir / VOCAB_FILE, out_dir / VOCAB_FILE)
    return out_dir
