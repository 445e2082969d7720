"""What eval.py, predict.py and export.py accept and check before loading anything: their command
lines (argparse: ``--help`` lists the arguments, a malformed one is one line and exit code 2), a run
folder that is there and finished, an output that overwrites nothing unless ``--force`` says so;
and a damaged file of the run as one line, whatever the library raised."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn, TypeVar

from loralab.cli_errors import first_line, is_user_error
from loralab.files.run_files import METRICS_FILE
from loralab.terminal_text import escaped

T = TypeVar("T")
FORCE = "--force"


SPLITS = ("test", "val", "train")
BASE_HELP = "model.pretrained=<base>: the base of a run moved away from it (checked by sha256)"


class ArgumentError(ValueError):
    """A command-line argument that cannot be used."""


class ToolParser(argparse.ArgumentParser):
    """argparse with one error line (``error: ...; see <prog> --help``) instead of the usage block,
    and no abbreviated options (``--forc`` is not ``--force``)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(allow_abbrev=False, **kwargs)

    def error(self, message: str) -> NoReturn:
        print(f"error: {escaped(message)}; see {self.prog} --help", file=sys.stderr)
        raise SystemExit(2)


def _override(text: str) -> str:
    if "=" not in text or text.startswith("="):
        raise argparse.ArgumentTypeError(f"{text!r} is not an override; write key=value (e.g. data=ag_news)")
    return text


def _run_folder(parser: ToolParser) -> None:
    parser.add_argument("run", metavar="RUN_FOLDER", help="a finished run's folder (outputs/<task>/<time>)")


def eval_parser() -> ToolParser:
    parser = ToolParser(
        description="Evaluate a finished run on a split of its data (or other data) and write "
        "<run>/eval/<data>_<split>.json. The model is rebuilt from run_config.json; nothing in the folder runs.",
    )
    _run_folder(parser)
    parser.add_argument(
        "overrides",
        nargs="*",
        default=[],
        type=_override,
        metavar="KEY=VALUE",
        help=f"split=test|val|train (default test), data=<name>, data.* and paths.* overrides; {BASE_HELP}",
    )
    parser.add_argument("--force", action="store_true", help="overwrite an existing result file")
    return parser


def predict_parser() -> ToolParser:
    parser = ToolParser(
        description="Label texts with a finished run: one line per text with the label, its probability "
        "and the start of the text.",
    )
    _run_folder(parser)
    parser.add_argument(
        "texts",
        nargs="*",
        default=[],
        metavar="TEXT",
        help=f"texts to label (none: one per line on stdin); {BASE_HELP}",
    )
    return parser


def export_parser() -> ToolParser:
    parser = ToolParser(
        description="Merge a run's LoRA adapter into its base: a Hugging Face folder for transformer runs, "
        "model.safetensors + vocab.json for TextClassifier runs.",
        epilog=BASE_HELP,
    )
    _run_folder(parser)
    parser.add_argument("output", metavar="OUTPUT_FOLDER", help="a new or empty folder outside the run")
    parser.add_argument("--force", action="store_true", help="replace the files of a folder that is not empty")
    return parser


def finished_run_folder(path: str) -> Path:
    """``path`` as a run folder whose training finished (it wrote ``metrics.json`` last)."""
    run_dir = Path(path)
    if not run_dir.exists():
        raise FileNotFoundError(f"run folder {run_dir} does not exist; pass a folder under outputs/ or multirun/")
    if not run_dir.is_dir():
        raise ArgumentError(
            f"{run_dir} is a file, not a run folder; pass the folder train.py wrote (outputs/<task>/<time>)"
        )
    if not (run_dir / METRICS_FILE).is_file():
        raise FileNotFoundError(
            f"{run_dir} has no {METRICS_FILE}: its training did not finish, or it is not a run folder; "
            "pass a finished run's folder (or resume=<folder> to finish it)"
        )
    return run_dir


def refuse_overwrite(path: Path, force: bool) -> None:
    """``path`` must not exist unless the user passed ``--force``."""
    if path.exists() and not force:
        raise ArgumentError(f"{path} exists; pass {FORCE} to overwrite it, or remove it first")


def export_target(run_dir: Path, out_dir: str, force: bool) -> Path:
    """The folder export.py may write: not a file, not the run folder (or inside it, or above it),
    and empty unless ``--force``."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ArgumentError(f"{out} is a file; pass a folder to export into (it is created if missing)")
    run, target = run_dir.resolve(), out.resolve()
    if target == run or run in target.parents or target in run.parents:
        raise ArgumentError(
            f"{out} is the run folder {run_dir} (or inside or above it): exporting there would mix the merged model "
            "with the run's own files; pass a folder outside the run"
        )
    if out.is_dir() and any(out.iterdir()) and not force:
        raise ArgumentError(
            f"{out} is not empty (it may hold a model); pass {FORCE} to replace its files, or another folder"
        )
    existing = next(p for p in (target, *target.parents) if p.exists())
    if not existing.is_dir():
        raise ArgumentError(f"{out} cannot be made: {existing} is a file; pass a folder to export into")
    if not os.access(existing, os.W_OK):
        raise ArgumentError(f"{out} cannot be written by this user; pass a writable folder")
    return out


def loading_the_run(run_dir: Path, action: Callable[[], T]) -> T:
    """``action()``; what a damaged file of the run raises (safetensors, tokenizers, torch, JSON:
    each its own type) comes out as one line naming the run folder. Set ``HYDRA_FULL_ERROR=1`` for
    the traceback."""
    try:
        return action()
    except Exception as error:
        if is_user_error(error) or os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        raise ValueError(
            f"cannot load the run in {run_dir} ({type(error).__name__}: {first_line(error)}); a file of the run is "
            "damaged or from another version: re-run its training, or restore the folder"
        ) from error
