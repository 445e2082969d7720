"""Merge a run's LoRA adapter into its base: ``python export.py <run folder> <output folder> [--force]``.

Transformer runs give a Hugging Face folder (``from_pretrained`` loads it, no PEFT needed);
TextClassifier runs give ``model.safetensors`` + ``vocab.json``. The output folder must be new or
empty (``--force`` replaces what it holds) and outside the run folder. The model is written to a
temporary folder beside it and moved into place when whole: a failure leaves nothing behind.
"""

import shutil
import sys
import tempfile
from pathlib import Path

from loralab.cli_errors import run_cli
from loralab.tools.merged_export import export_merged
from loralab.tools.run_arguments import (
    FORCE,
    ArgumentError,
    export_target,
    finished_run_folder,
    loading_the_run,
    split_options,
)

CONFIG_DIR = Path(__file__).resolve().parent / "conf"


def replace_folder(staged: Path, out_dir: Path) -> None:
    """Move ``staged``'s files into ``out_dir``, replacing files of the same name."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for item in staged.iterdir():
        target = out_dir / item.name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        item.replace(target)


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        raise SystemExit(__doc__)
    args, options = split_options(sys.argv[1:])
    if len(args) != 2:
        raise ArgumentError(
            f"export.py takes a run folder and an output folder, got {len(args)} argument(s); see --help"
        )
    run_dir = finished_run_folder(args[0])
    out_dir = export_target(run_dir, args[1], FORCE in options)
    out_dir.absolute().parent.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(dir=out_dir.absolute().parent, prefix=f".{out_dir.name}.", suffix=".tmp"))
    try:
        loading_the_run(run_dir, lambda: export_merged(run_dir, CONFIG_DIR, staged))
        if out_dir.exists():
            replace_folder(staged, out_dir)
        else:
            staged.rename(out_dir)
    finally:
        shutil.rmtree(staged, ignore_errors=True)
    print(out_dir)


if __name__ == "__main__":
    run_cli(main)
