"""Merge a run's LoRA adapter into its base: ``python export.py <run folder> <output folder>``.

Transformer runs give a Hugging Face folder (``from_pretrained`` loads it, no PEFT needed);
TextClassifier runs give ``model.safetensors`` + ``vocab.json``.
"""

import sys
from pathlib import Path

from loralab.cli_errors import run_cli
from loralab.tools.merged_export import export_merged

CONFIG_DIR = Path(__file__).resolve().parent / "conf"


def main() -> None:
    if len(sys.argv) != 3 or sys.argv[1] in ("-h", "--help"):
        raise SystemExit(__doc__)
    print(export_merged(sys.argv[1], CONFIG_DIR, sys.argv[2]))


if __name__ == "__main__":
    run_cli(main)
