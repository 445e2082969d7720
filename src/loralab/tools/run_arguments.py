"""What eval.py, predict.py and export.py check of their arguments before loading anything: a run
folder that is there and finished, options they know, an output that overwrites nothing unless
``--force`` says so; and a damaged file of the run as one line, whatever the library raised."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from loralab.cli_errors import first_line, is_user_error
from loralab.files.run_files import METRICS_FILE

T = TypeVar("T")
FORCE = "--force"


class ArgumentError(ValueError):
    """A command-line argument that cannot be used."""


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


def split_options(args: list[str], known: tuple[str, ...] = (FORCE,)) -> tuple[list[str], set[str]]:
    """``args`` without the ``--options``, and the options; an option not in ``known`` is refused."""
    options = {a for a in args if re.fullmatch(r"--[\w-]+", a)}  # "--great film" is a text, not an option
    unknown = sorted(options - set(known))
    if unknown:
        raise ArgumentError(f"unknown option {unknown[0]}; the options are {', '.join(known) or 'none'} (see --help)")
    return [a for a in args if a not in options], options


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
