"""PEFT adapters in a run folder: ``save_pretrained`` output, plus the base it was trained on."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

from torch import nn

from loralab.atomic_files import atomic_write_json
from loralab.runs.run_files import sha256_of

BASE_RECORD = "loralab_base.json"  # beside PEFT's files: which backbone, and its weights' sha256


def is_peft_model(model: nn.Module) -> bool:
    # A PEFT model was built by an imported peft: asking must not import it (peft brings
    # transformers, which every TextClassifier run's saving would then wait for).
    peft = sys.modules.get("peft")
    return peft is not None and isinstance(model, peft.PeftModel)


def _backbone_weights(backbone: str) -> Path | None:
    folder = Path(backbone)
    files = sorted(folder.glob("*.safetensors")) if folder.is_dir() else []
    return files[0] if files else None


def save_peft_adapter(model: nn.Module, folder: Path, backbone: str) -> int:
    """``save_pretrained`` into a temporary folder renamed into place, so a kill leaves no half adapter."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
    try:
        model.save_pretrained(staging)
        weights = _backbone_weights(backbone)
        atomic_write_json(
            staging / BASE_RECORD,
            {
                "backbone": str(Path(backbone).resolve()) if Path(backbone).is_dir() else backbone,
                "weights_sha256": sha256_of(weights) if weights else None,
            },
        )
        if folder.exists():
            shutil.rmtree(folder)
        staging.rename(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return (folder / "adapter_model.safetensors").stat().st_size


def is_peft_adapter(folder: Path) -> bool:
    return (folder / BASE_RECORD).is_file()


def load_peft_adapter(base: nn.Module, folder: Path, backbone: str) -> nn.Module:
    """``PeftModel.from_pretrained`` after checking that ``backbone`` is the base the adapter knows."""
    from peft import PeftModel

    record = json.loads((folder / BASE_RECORD).read_text())
    weights = _backbone_weights(backbone)
    if record["weights_sha256"] and weights and sha256_of(weights) != record["weights_sha256"]:
        raise ValueError(
            f"adapter {folder} was trained on {record['backbone']} (weights sha256 {record['weights_sha256'][:12]}...), "
            f"but {weights} differs; pass model.backbone={record['backbone']}"
        )
    return PeftModel.from_pretrained(base, folder)
