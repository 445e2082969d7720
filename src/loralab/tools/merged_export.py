"""Fold a LoRA run's adapter into its base and save a plain model that needs no LoRA code."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from safetensors.torch import save_file

from loralab.atomic_files import atomic_write, atomic_write_text
from loralab.files.run_files import MODEL_FILE
from loralab.lora import merge_and_unload
from loralab.runs.model_card import CARD_FILE, export_card
from loralab.runs.open_run import open_run
from loralab.runs.peft_adapter import is_peft_model


def export_merged(run_dir: str | Path, out_dir: str | Path, base: str | Path | None = None) -> Path:
    """Transformers: a ``save_pretrained`` folder (model with its label names + tokenizer) that
    ``from_pretrained`` and ``pipeline`` load. TextClassifier: ``model.safetensors`` + ``vocab.json``,
    which plain torch loads (the card shows how) and a later run takes as ``+model.pretrained=<out_dir>``.
    Either way ``README.md`` is the run's model card."""
    out_dir = Path(out_dir)
    run = open_run(run_dir, base)
    out_dir.mkdir(parents=True, exist_ok=True)
    if run.description["family"] == "hf_classifier":
        net = run.net.merge_and_unload() if is_peft_model(run.net) else run.net
        # The names predict.py prints (the class index where the run had none): the pipeline and the Hub widget show them.
        net.config.id2label = dict(enumerate(run.label_names))
        net.config.label2id = {name: index for index, name in enumerate(run.label_names)}
        net.save_pretrained(out_dir)
        run.tokenizer.tokenizer.save_pretrained(out_dir)
    else:
        state = {k: v.contiguous() for k, v in merge_and_unload(run.net).state_dict().items()}
        atomic_write(out_dir / MODEL_FILE, lambda tmp: save_file(state, str(tmp)))
        run.tokenizer.save(out_dir)
    atomic_write_text(out_dir / CARD_FILE, export_card(run_dir, run.description).content)
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
