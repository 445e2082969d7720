"""A LoRA run's base, recorded by a path relative to the run folder and its sha256, and found again.

The base is the run's own ``base_model.safetensors``, a pretrained run's weights file, or a
transformer backbone folder (or Hub id). Whatever path finds it, recorded or given at load time
(``model.pretrained=<path>``), its content must have the recorded sha256.
"""

from __future__ import annotations

import os
from pathlib import Path

from loralab.files.safe_paths import RunFolderError, regular_file
from loralab.files.sha256 import sha256_of, verify_sha256
from loralab.models.pretrained import resolve_weights_file

BACKBONE_CONFIG = "config.json"  # the backbone's architecture: hashed with its weights


def relative_to_run(path: str | Path, run_dir: str | Path) -> str:
    """``path`` as seen from ``run_dir`` (``base_model.safetensors``, ``../pretrain/model.safetensors``)."""
    return Path(os.path.relpath(Path(path).resolve(), Path(run_dir).resolve())).as_posix()


def file_reference(path: str | Path, run_dir: str | Path) -> dict:
    return {"path": relative_to_run(path, run_dir), "sha256": sha256_of(path)}


def _backbone_files(folder: Path) -> list[Path]:
    """What a run reads of its backbone, all hashed: the config, the safetensors weights and their
    index (``model.safetensors.index.json``) when sharded."""
    return [
        folder / BACKBONE_CONFIG,
        *sorted(folder.glob("*.safetensors")),
        *sorted(folder.glob("*.safetensors.index.json")),
    ]


def _cached_snapshot(hub_id: str) -> Path | None:
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(hub_id, local_files_only=True))
    except Exception:  # huggingface_hub raises several types for "not cached"
        return None


def backbone_reference(backbone: str, run_dir: str | Path) -> dict:
    """A backbone folder by relative path, or a Hub id, with the sha256 of its config and weights."""
    folder = Path(backbone)
    hub_id = None
    if not folder.is_dir():
        hub_id, folder = backbone, _cached_snapshot(backbone)
        if folder is None:
            return {"path": None, "hub_id": hub_id, "files": {}}
    files = {path.name: sha256_of(path) for path in _backbone_files(folder) if path.is_file()}
    return {"path": None if hub_id else relative_to_run(folder, run_dir), "hub_id": hub_id, "files": files}


def _given_or_recorded(run_dir: Path, recorded: str | None, given: str | Path | None) -> Path | None:
    if given is not None:
        return Path(given)
    if recorded is None:
        return None
    if Path(recorded).is_absolute():
        raise RunFolderError(
            f"{run_dir}/run_config.json: key base.path is absolute ({recorded}); a run folder records paths relative to itself"
        )
    return run_dir / recorded


def base_file(run_dir: Path, reference: dict, given: str | Path | None, record: str) -> Path:
    """The TextClassifier base: the recorded relative path, or ``given`` (a file, or a run folder
    holding ``model.safetensors``), a regular file with the recorded sha256."""
    path = _given_or_recorded(run_dir, reference["path"], given)
    if given is not None and Path(given).is_dir():
        path = resolve_weights_file(given)
    if not os.path.lexists(path):
        raise FileNotFoundError(
            f"base {path} (recorded in {record} as {reference['path']}) does not exist: the run was moved away from "
            "its base; pass model.pretrained=<the base's run folder or weights file>"
        )
    verify_sha256(regular_file(path), reference["sha256"], record)
    return path


def backbone_folder(run_dir: Path, reference: dict, given: str | Path | None, record: str) -> Path:
    """The transformer backbone: ``given``, the recorded relative folder, or the Hub id's cached
    snapshot; its config and weights files regular, with the recorded sha256."""
    folder = _given_or_recorded(run_dir, reference["path"], given)
    if folder is None:
        folder = _cached_snapshot(reference["hub_id"])
        if folder is None:
            raise FileNotFoundError(
                f"backbone {reference['hub_id']} (recorded in {record}) is not in the local Hugging Face cache; "
                "pass model.pretrained=<backbone folder>"
            )
    if not folder.is_dir():
        raise FileNotFoundError(
            f"backbone folder {folder} (recorded in {record} as {reference['path']}) does not exist: the run was moved "
            "away from its backbone; pass model.pretrained=<backbone folder>"
        )
    if not reference["files"]:
        raise RunFolderError(f"{record}: key base.files is empty; nothing verifies the backbone {folder}")
    present = {path.name for path in _backbone_files(folder) if os.path.lexists(path)}
    if present != set(reference["files"]):
        raise RunFolderError(
            f"backbone {folder} has {', '.join(sorted(present)) or 'no files'} but {record} records "
            f"{', '.join(sorted(reference['files']))}: it is not the backbone this run was trained on; "
            "pass model.pretrained=<backbone folder>"
        )
    for name, digest in sorted(reference["files"].items()):
        verify_sha256(regular_file(folder / name), digest, record)
    return folder  # nothing else of it is read: runs/backbone_weights.py builds the network
