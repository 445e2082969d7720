"""Evaluate a finished run: ``python eval.py <run folder> [data=ag_news] [split=test|val|train] [--force] [key=value ...]``.

The run's model is rebuilt from its folder (base + adapter for LoRA runs, loaded without pickle);
the other arguments are Hydra overrides on the run's own config. The metrics are printed and
written to ``<run>/eval/<data>_<split>.json``; an existing file is kept unless ``--force``.
"""

import json
import sys
from pathlib import Path

from loralab.cli_errors import run_cli
from loralab.tools.evaluation import evaluate_run
from loralab.tools.run_arguments import FORCE, ArgumentError, finished_run_folder, loading_the_run, split_options

CONFIG_DIR = Path(__file__).resolve().parent / "conf"
SPLITS = ("test", "val", "train")


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        raise SystemExit(__doc__)
    args, options = split_options(sys.argv[2:])
    run_dir = finished_run_folder(sys.argv[1])
    splits = [a.split("=", 1)[1] for a in args if a.startswith("split=")]
    split = splits[-1] if splits else "test"
    if split not in SPLITS:
        raise ArgumentError(f"split={split} is not a split; use one of {', '.join(SPLITS)}")
    overrides = [a for a in args if not a.startswith("split=")]
    malformed = [a for a in overrides if "=" not in a]
    if malformed:
        raise ArgumentError(f"{malformed[0]!r} is not an override; write key=value (e.g. data=ag_news)")
    metrics = loading_the_run(run_dir, lambda: evaluate_run(run_dir, CONFIG_DIR, overrides, split, FORCE in options))
    print(json.dumps(metrics, indent=2, sort_keys=True))


if __name__ == "__main__":
    run_cli(main)
