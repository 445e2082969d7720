"""PEFT adapters in a run folder: ``save_pretrained`` output. ``runs/open_transformer.py`` loads
them back without reading PEFT's config (the LoRA settings come from ``run_config.json``)."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

from safetensors.torch import load_file, save_file
from torch import nn

from loralab.atomic_files import atomic_write, atomic_write_json
from loralab.lora.plain_adapter import INITIAL_FACTORS, convert_peft_config, convert_peft_tensors

PEFT_WEIGHTS = "adapter_model.safetensors"
PEFT_CONFIG = "adapter_config.json"
PEFT_CARD = "README.md"


def is_peft_model(model: nn.Module) -> bool:
    # A PEFT model was built by an imported peft: asking must not import it (peft brings
    # transformers, which every TextClassifier run's saving would then wait for).
    peft = sys.modules.get("peft")
    return peft is not None and isinstance(model, peft.PeftModel)


def save_peft_adapter(model: nn.Module, folder: Path, base_path: str | None) -> int:
    """``save_pretrained`` into a temporary folder renamed into place, so a kill leaves no half
    adapter. PEFT's ``base_model_name_or_path`` becomes ``base_path`` (relative to the run folder).
    PEFT's ``README.md`` is an empty template: it is dropped, and the run's card
    (``runs/model_card.py``) is written in its place once the test metrics are known. A pissa or
    olora adapter is converted to apply to the unmodified backbone (``lora/plain_adapter.py``)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
    try:
        model.save_pretrained(staging)
        config = json.loads((staging / PEFT_CONFIG).read_text())
        config["base_model_name_or_path"] = base_path
        initial = getattr(model, INITIAL_FACTORS, None)
        if initial is not None:
            tensors = convert_peft_tensors(load_file(staging / PEFT_WEIGHTS), initial)
            atomic_write(staging / PEFT_WEIGHTS, lambda tmp: save_file(tensors, str(tmp)))
            config = convert_peft_config(config)
        (staging / PEFT_CARD).unlink(missing_ok=True)
        atomic_write_json(staging / PEFT_CONFIG, config)
        if folder.exists():
            shutil.rmtree(folder)
        staging.rename(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return (folder / PEFT_WEIGHTS).stat().st_size
