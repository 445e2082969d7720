"""Where loralab's Hydra configs are: inside the package (``src/loralab/conf`` links to the
repository's ``conf/``, and a built wheel holds the files), so an installed loralab composes them
from any working directory."""

from __future__ import annotations

from pathlib import Path

CONFIG_DIR = Path(__file__).resolve().parent / "conf"
