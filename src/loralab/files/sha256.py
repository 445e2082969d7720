"""A file's sha256, and the check that a base file is the one a run recorded."""

from __future__ import annotations

import hashlib
from pathlib import Path

from loralab.files.safe_paths import RunFolderError, regular_file
from loralab.files.safetensors_header import read_safetensors_header
from loralab.terminal_text import escaped


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_sha256(path: Path, expected: str, record: str) -> None:
    """Refuse a base whose content is not the one the run recorded, naming both hashes. A
    safetensors file's header is checked first: its stated size must be the file's."""
    if path.suffix == ".safetensors":
        read_safetensors_header(path)
    actual = sha256_of(regular_file(path))
    if actual != expected:
        raise RunFolderError(
            f"{escaped(path)} has sha256 {actual}, but {escaped(record)} records {expected}: it is not the base this run was "
            "trained on; pass model.pretrained=<the base it was trained on>"
        )
