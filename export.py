"""Merge a run's LoRA adapter into its base: ``python export.py <run folder> <output folder> [model.pretrained=<base>]``.

Transformer runs give a Hugging Face folder (``from_pretrained`` loads it, no PEFT needed);
TextClassifier runs give ``model.safetensors`` + ``vocab.json``. ``model.pretrained=<path>`` names
the base of a run moved away from it (checked by sha256).
"""

import sys
from pathlib import Path

from loralab.cli_errors import run_cli
from loralab.runs.open_run import take_base_argument
from loralab.tools.merged_export import export_merged
from loralab.training.run_report import size_text


def main() -> None:
    base, args = take_base_argument(sys.argv[1:])
    if len(args) != 2 or args[0] in ("-h", "--help"):
        raise SystemExit(__doc__)
    print(export_report(export_merged(args[0], args[1], base=base)))


def export_report(out_dir: Path) -> str:
    """What the export wrote, file by file with sizes, and how to load it."""
    lines = [f"merged model written to {out_dir}:"]
    lines += [
        f"  {path.relative_to(out_dir)}  {size_text(path.stat().st_size)}"
        for path in sorted(out_dir.rglob("*"))
        if path.is_file()
    ]
    if (out_dir / "config.json").is_file():
        lines.append(f"load it with transformers: AutoModelForSequenceClassification.from_pretrained('{out_dir}')")
    else:
        lines.append(f"use it as a base: python train.py +model.pretrained={out_dir}")
    return "\n".join(lines)


if __name__ == "__main__":
    run_cli(main)
