"""The commands an installed loralab puts on the PATH (``[project.scripts]`` in pyproject.toml):
``loralab-train``, ``loralab-eval``, ``loralab-predict``, ``loralab-export``. They take the same
arguments as the root scripts ``train.py``, ``eval.py``, ``predict.py``, ``export.py`` and read the
configs shipped in the package, so they work from any folder."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from loralab.cli_errors import run_cli
from loralab.configs import CONFIG_DIR
from loralab.overrides import group_removals, override_key, override_value
from loralab.quiet_console import filter_third_party_noise
from loralab.runs.open_run import take_base_argument
from loralab.runs.resume import resume_arguments
from loralab.terminal_text import escaped
from loralab.tools.run_arguments import (
    SPLITS,
    ArgumentError,
    eval_parser,
    export_parser,
    export_target,
    finished_run_folder,
    loading_the_run,
    predict_parser,
)
from loralab.training.run_report import size_text


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="train")
def _train_job(cfg: DictConfig) -> float | None:
    filter_third_party_noise()  # here, not in train(): a launcher's worker process runs only this
    from loralab.sweeps.jobs import train_or_record_failure
    from loralab.training.experiment import train as train_run

    if HydraConfig.get().mode == RunMode.MULTIRUN:
        metrics = train_or_record_failure(cfg, train_run) or {}
    else:
        metrics = run_cli(lambda: train_run(cfg))
    # Sweepers (Optuna) optimise the value returned here.
    return metrics.get(cfg.get("optimized_metric"))


def train() -> None:
    """``loralab-train [overrides]`` (``python train.py``): train as the Hydra config says."""
    groups = {path.name for path in CONFIG_DIR.iterdir() if path.is_dir()}
    sys.argv[1:] = run_cli(lambda: resume_arguments(group_removals(sys.argv[1:], groups)))
    _train_job()


def evaluate() -> None:
    """``loralab-eval`` (``python eval.py``): evaluate a finished run; ``--help`` lists the arguments.

    The run's model is rebuilt from its folder's ``run_config.json`` (plain values; base + adapter for
    LoRA runs, loaded without pickle); nothing in the folder is instantiated or run. The overrides apply
    to the run's own data settings and loralab's ``conf/``.
    """
    filter_third_party_noise()
    parser = eval_parser()
    arguments = parser.parse_intermixed_args()
    splits = [override_value(o) for o in arguments.overrides if override_key(o) == "split"]
    split = splits[-1] if splits else "test"
    if split not in SPLITS:
        parser.error(f"split={split} is not a split; use one of {', '.join(SPLITS)}")
    overrides = [o for o in arguments.overrides if override_key(o) != "split"]

    def main() -> None:
        from loralab.tools.evaluation import evaluate_run  # Lightning and transformers: not for --help

        run_dir = finished_run_folder(arguments.run)
        metrics = loading_the_run(run_dir, lambda: evaluate_run(run_dir, CONFIG_DIR, overrides, split, arguments.force))
        print(json.dumps(metrics, indent=2, sort_keys=True))

    run_cli(main)


def predict() -> None:
    """``loralab-predict`` (``python predict.py``): label texts with a finished run; ``--help`` lists
    the arguments."""
    filter_third_party_noise()
    base, args = take_base_argument(sys.argv[1:])
    arguments = predict_parser().parse_intermixed_args(args)

    def main() -> None:
        from loralab.tools.prediction import predict_texts  # Lightning and transformers: not for --help

        run_dir = finished_run_folder(arguments.run)
        texts = _texts_to_label(arguments.texts)
        predictions = loading_the_run(run_dir, lambda: predict_texts(run_dir, texts, base=base))
        for text, (label, probability) in zip(texts, predictions):
            snippet = text if len(text) <= 60 else text[:57] + "..."
            # Label names come from the run folder: escaped, they cannot drive the terminal.
            print(f"{escaped(label)}\t{probability:.3f}\t{escaped(snippet)}")

    run_cli(main)


def export() -> None:
    """``loralab-export`` (``python export.py``): merge a run's LoRA adapter into its base; ``--help``
    lists the arguments.

    Transformer runs give a Hugging Face folder (``pipeline`` and ``from_pretrained`` load it, with
    the run's label names, no PEFT needed); TextClassifier runs give ``model.safetensors`` +
    ``vocab.json``, which plain torch loads. Both get a model card, ``README.md``. The output folder
    must be new or empty (``--force`` replaces what it holds) and outside the run folder. The model
    is written to a temporary folder beside it and moved into place when whole: a failure leaves
    nothing behind.
    """
    filter_third_party_noise()
    base, args = take_base_argument(sys.argv[1:])
    arguments = export_parser().parse_intermixed_args(args)

    def main() -> None:
        from loralab.tools.merged_export import export_into  # Lightning and transformers: not for --help

        run_dir = finished_run_folder(arguments.run)
        out_dir = export_target(run_dir, arguments.output, arguments.force)
        loading_the_run(run_dir, lambda: export_into(run_dir, out_dir, base))
        print(export_report(out_dir))

    run_cli(main)


def export_report(out_dir: Path) -> str:
    """What the export wrote, file by file with sizes, how to load it, and where its model card is."""
    from loralab.runs.model_card import CARD_FILE

    lines = [f"merged model written to {out_dir}:"]
    lines += [
        f"  {path.relative_to(out_dir)}  {size_text(path.stat().st_size)}"
        for path in sorted(out_dir.rglob("*"))
        if path.is_file() and path.relative_to(out_dir) != Path(CARD_FILE)
    ]
    if (out_dir / "config.json").is_file():
        lines.append(f"load it with transformers: pipeline('text-classification', model='{out_dir}')")
    else:
        lines.append(f"use it as a base: python train.py +model.pretrained={out_dir}")
    if (out_dir / CARD_FILE).is_file():
        lines.append(f"its model card, {CARD_FILE}: data, test metrics, and the code that loads it")
    return "\n".join(lines)


def _texts_to_label(args: list[str]) -> list[str]:
    """The texts of the command line, else of stdin (one per line); none at all is refused."""
    if args:
        empty = [i for i, text in enumerate(args, 1) if not text.strip()]
        if empty:
            raise ArgumentError(f"text {empty[0]} of the command line is empty; pass texts with words in them")
        return args
    if sys.stdin.isatty():
        raise ArgumentError('no text to label; pass texts after the run folder ("a review" ...) or pipe one per line')
    texts = [line.rstrip("\n") for line in sys.stdin if line.strip()]
    if not texts:
        raise ArgumentError("stdin held no text (only empty lines); pipe one text per line, or pass texts as arguments")
    return texts
