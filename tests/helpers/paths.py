"""Where the project, its configs and the real data (when set) are."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = PROJECT_ROOT / "conf"
REAL_DATA_DIR = os.environ.get("LORALAB_DATA_DIR")
