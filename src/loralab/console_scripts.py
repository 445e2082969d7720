"""The commands an installed loralab puts on the PATH (``[project.scripts]`` in pyproject.toml):
``loralab-train``, ``loralab-eval``, ``loralab-predict``, ``loralab-export``. They take the same
arguments as the root scripts ``train.py``, ``eval.py``, ``predict.py``, ``export.py`` and read the
configs shipped in the package, so they work from any folder."""

from __future__ import annotations

import json
import sys

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from loralab.cli_errors import run_cli
from loralab.configs import CONFIG_DIR
from loralab.runs.open_run import take_base_argument


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="train")
def _train_job(cfg: DictConfig) -> float | None:
    from loralab.sweeps.jobs import train_or_record_failure
    from loralab.training.experiment import train as train_run

    if HydraConfig.get().mode == RunMode.MULTIRUN:
        metrics = train_or_record_failure(cfg, train_run) or {}
    else:
        metrics = run_cli(lambda: train_run(cfg))
    # Sweepers (Optuna) optimise the value returned here.
    return metrics.get(cfg.get("optimized_metric"))


def train() -> None:
    """``loralab-train [overrides]``: see ``train.py``."""
    from loralab.runs.resume import resume_arguments

    sys.argv[1:] = run_cli(lambda: resume_arguments(sys.argv[1:]))
    _train_job()


def evaluate() -> None:
    """``loralab-eval <run folder> [data=...] [split=test|val|train] [key=value ...]``: see ``eval.py``."""
    from loralab.tools.evaluation import evaluate_run

    def main() -> None:
        _usage_unless(len(sys.argv) >= 2, evaluate)
        run_dir, args = sys.argv[1], sys.argv[2:]
        split = next((a.split("=", 1)[1] for a in args if a.startswith("split=")), "test")
        overrides = [a for a in args if not a.startswith("split=")]
        print(json.dumps(evaluate_run(run_dir, CONFIG_DIR, overrides, split), indent=2, sort_keys=True))

    run_cli(main)


def predict() -> None:
    """``loralab-predict <run folder> "text" ...`` (or one text per line on stdin): see ``predict.py``."""
    from loralab.tools.prediction import predict_texts

    def main() -> None:
        _usage_unless(len(sys.argv) >= 2, predict)
        base, texts = take_base_argument(sys.argv[2:])
        texts = texts or [line.rstrip("\n") for line in sys.stdin if line.strip()]
        for text, (label, probability) in zip(texts, predict_texts(sys.argv[1], texts, base=base)):
            snippet = text if len(text) <= 60 else text[:57] + "..."
            print(f"{label}\t{probability:.3f}\t{snippet}")

    run_cli(main)


def export() -> None:
    """``loralab-export <run folder> <output folder>``: see ``export.py``."""
    from loralab.tools.merged_export import export_merged

    def main() -> None:
        base, args = take_base_argument(sys.argv[1:])
        _usage_unless(len(args) == 2, export)
        print(export_merged(args[0], args[1], base=base))

    run_cli(main)


def _usage_unless(arguments_ok: bool, command) -> None:
    if not arguments_ok or sys.argv[1] in ("-h", "--help"):
        raise SystemExit(command.__doc__)
