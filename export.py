"""Merge a run's LoRA adapter into its base: ``python export.py <run folder> <output folder>``.

Transformer runs give a Hugging Face folder (``from_pretrained`` loads it, no PEFT needed);
TextClassifier runs give ``model.safetensors`` + ``vocab.json``.
"""

import sys
from pathlib import Path

from loralab.cli_errors import run_cli
from loralab.tools.merged_export import export_merged
from loralab.training.run_report import size_text

CONFIG_DIR = Path(__file__).resolve().parent / "conf"


def main() -> None:
    if len(sys.argv) != 3 or sys.argv[1] in ("-h", "--help"):
        raise SystemExit(__doc__)
    print(export_report(export_merged(sys.argv[1], CONFIG_DIR, sys.argv[2])))


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
