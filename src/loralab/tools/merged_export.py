"""Fold a LoRA run's adapter into its base and save a plain model that needs no LoRA code."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from safetensors.torch import save_file

from loralab.atomic_files import atomic_write
from loralab.files.run_files import MODEL_FILE
from loralab.lora import merge_and_unload
from loralab.runs.open_run import open_run
from loralab.runs.peft_adapter import is_peft_model


def export_merged(run_dir: str | Path, out_dir: str | Path, base: str | Path | None = None) -> Path:
    """Transformers: a ``save_pretrained`` folder (model + tokenizer) that ``from_pretrained`` loads.
    TextClassifier: ``model.safetensors`` + ``vocab.json``, usable as ``+model.pretrained=<out_dir>``."""
    out_dir = Path(out_dir)
    run = open_run(run_dir, base)
    out_dir.mkdir(parents=True, exist_ok=True)
    if run.description["family"] == "hf_classifier":
        net = run.net.merge_and_unload() if is_peft_model(run.net) else run.net
        net.save_pretrained(out_dir)
        run.tokenizer.tokenizer.save_pretrained(out_dir)
        return out_dir
    state = {k: v.contiguous() for k, v in merge_and_unload(run.net).state_dict().items()}
    atomic_write(out_dir / MODEL_FILE, lambda tmp: save_file(state, str(tmp)))
    run.tokenizer.save(out_dir)
    return out_dir


def export_into(run_dir: str | Path, out_dir: str | Path, base: str | Path | None = None) -> Path:
    """``export_merged`` into a temporary folder beside ``out_dir``, moved into place when whole: a
    failure (a full disk, a damaged run) leaves ``out_dir`` as it was. Files of ``out_dir`` with the
    names of the new ones are replaced (the caller has checked that the user asked for that)."""
    out_dir = Path(out_dir)
    out_dir.absolute().parent.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(dir=out_dir.absolute().parent, prefix=f".{out_dir.name}.", suffix=".tmp"))
    try:
        export_merged(run_dir, staged, base)
        if not out_dir.exists():
            staged.rename(out_dir)
            return out_dir
        for item in staged.iterdir():
            target = out_dir / item.name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            item.replace(target)
        return out_dir
    finally:
        shutil.rmtree(staged, ignore_errors=True)
