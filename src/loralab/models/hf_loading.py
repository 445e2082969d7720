"""Load Hugging Face tokenizers and models from a local folder or the Hub, failing fast offline."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from loralab.cli_errors import first_line
from loralab.hub import hub_reachable, offline_mode

T = TypeVar("T")


def load_from_hub_or_folder(name_or_path: str, what: str, load: Callable[[str], T]) -> T:
    """``load(name_or_path)``, or one line that says to pass a local folder when that cannot work."""
    local = Path(name_or_path).is_dir()
    if not local and not offline_mode() and not hub_reachable():
        raise FileNotFoundError(
            f"{what} {name_or_path!r} is not a local folder and the Hugging Face Hub is unreachable; "
            "pass model.backbone=<local folder> (a saved Hugging Face model, e.g. all-MiniLM-L6-v2)"
        )
    try:
        return load(name_or_path)
    except (OSError, ValueError) as error:
        where = "folder" if local else "Hub id (offline: only the local cache)"
        raise FileNotFoundError(
            f"cannot load {what} from {where} {name_or_path!r} ({first_line(error)}); pass model.backbone=<local folder>"
        ) from None
