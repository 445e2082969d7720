"""Evaluate a finished run: ``python eval.py <run folder> [data=ag_news] [split=test|val|train] [key=value ...]``.

The run's model is rebuilt from its folder's ``run_config.json`` (plain values; base + adapter
for LoRA runs, loaded without pickle); nothing in the folder is instantiated or run. The other
arguments are Hydra overrides of the data, on the run's own data settings and loralab's ``conf/``.
``model.pretrained=<path>`` names the base of a run moved away from it (checked by sha256).
"""

import json
import sys
from pathlib import Path

from loralab.cli_errors import run_cli
from loralab.tools.evaluation import evaluate_run

CONFIG_DIR = Path(__file__).resolve().parent / "conf"


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        raise SystemExit(__doc__)
    run_dir, args = sys.argv[1], sys.argv[2:]
    split = next((a.split("=", 1)[1] for a in args if a.startswith("split=")), "test")
    overrides = [a for a in args if not a.startswith("split=")]
    metrics = evaluate_run(run_dir, CONFIG_DIR, overrides, split)
    print(json.dumps(metrics, indent=2, sort_keys=True))


if __name__ == "__main__":
    run_cli(main)
