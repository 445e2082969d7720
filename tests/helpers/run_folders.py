"""Copies and edits of finished run folders, for tests that damage or move them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path


def copy_run(run: Path, to: Path) -> Path:
    shutil.copytree(run, to, symlinks=True)
    return to


def edit_json(path: Path, edit) -> None:
    value = json.loads(path.read_text())
    edit(value)
    path.write_text(json.dumps(value))
