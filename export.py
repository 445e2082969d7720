"""Merge a run's LoRA adapter into its base: ``python export.py <run folder> <output folder> [model.pretrained=<base>]``.

Transformer runs give a Hugging Face folder (``from_pretrained`` loads it, no PEFT needed);
TextClassifier runs give ``model.safetensors`` + ``vocab.json``. ``model.pretrained=<path>`` names
the base of a run moved away from it (checked by sha256).
"""

import sys

from loralab.cli_errors import run_cli
from loralab.runs.open_run import take_base_argument
from loralab.tools.merged_export import export_merged


def main() -> None:
    base, args = take_base_argument(sys.argv[1:])
    if len(args) != 2 or args[0] in ("-h", "--help"):
        raise SystemExit(__doc__)
    print(export_merged(args[0], args[1], base=base))


if __name__ == "__main__":
    run_cli(main)
