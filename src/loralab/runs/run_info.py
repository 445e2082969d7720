"""``run_info.json``: what a run needs to be reproduced: code version, package versions, data hashes."""

from __future__ import annotations

import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from loralab.atomic_files import atomic_write_json

RUN_INFO_FILE = "run_info.json"
KEY_PACKAGES = [
    "loralab",
    "torch",
    "lightning",
    "hydra-core",
    "omegaconf",
    "transformers",
    "peft",
    "tokenizers",
    "torchmetrics",
    "datasets",
    "safetensors",
]


def git_state(folder: str | Path) -> dict:
    """The commit checked out at ``folder`` and whether tracked files differ from it (None outside git)."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=folder, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()

    try:
        return {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def package_versions(names: list[str] = KEY_PACKAGES) -> dict[str, str | None]:
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def write_run_info(
    output_dir: str | Path, data_source: str | None, data_fingerprints: dict, argv: list[str] | None = None
) -> dict:
    """Write and return the record of this run's code, environment and data."""
    info = {
        "command": " ".join(argv if argv is not None else sys.argv),
        "git": git_state(Path(__file__).resolve().parent),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": package_versions(),
        "data": {"source": data_source, "splits": data_fingerprints},
    }
    atomic_write_json(Path(output_dir) / RUN_INFO_FILE, info)
    return info
