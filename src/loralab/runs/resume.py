"""``python train.py resume=<run folder> [overrides]``: continue an interrupted run in its own folder.

Hydra fixes the run folder before the app starts, so ``resume=`` is rewritten on the command line:
the run's own overrides (``.hydra/overrides.yaml``), then the new ones (which win, e.g. more
epochs), ``hydra.run.dir=<run folder>`` and ``ckpt_path=<run folder>/checkpoints/last.ckpt``.

The folder's overrides are replayed only when they set plain config values: one that would
select code (a ``_target_`` anywhere, a ``hydra.*`` setting or group such as a callback or a
logging handler, ``trust_remote_code``, an interpolation), set where the run writes (a logger's or
checkpoint's folder, a file name) or hold a pattern is refused by name, unless the user types that
key again. What the user
types on the command line is not restricted. The folder itself must hold only regular files and
folders: a link would let the resumed run write wherever it points.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import torch
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from loralab.files.run_files import METRICS_FILE
from loralab.files.safe_paths import RunFolderError, read_text_capped, regular_file
from loralab.overrides import override_key, override_value
from loralab.terminal_text import escaped

RESUME_PREFIX = "resume="
RESUME_FINISHED = "resume_finished"  # +resume_finished=true: rerun a finished run in its folder
LAST_CHECKPOINT = Path("checkpoints") / "last.ckpt"


# A key of plain config values: dotted names, optionally with Hydra's +/++/~ prefix (no group@package).
PLAIN_KEY = re.compile(r"^(\+\+|\+|~)?[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$")
GROUP_CHOICE = re.compile(r"^[A-Za-z0-9_.-]*$")  # a top-level key picks a conf/ file by name, or sets a plain value
CODE_WORDS = ("_target_", "_partial_", "_args_", "_recursive_", "_convert_", "trust_remote_code", "auto_map")
# Keys that name where a run writes (loggers, checkpoints, profilers, caches, curves, the run
# folder's name): a folder's value would aim the resumed run's writes, or deletes, anywhere.
OUTPUT_SECTIONS = ("paths.", "logger.")
OUTPUT_LEAVES = ("filename", "version", "prefix", "sub_dir", "name")
OUTPUT_LEAF_ENDINGS = ("dir", "dirpath", "uri", "url", "location", "root")
# Paths a run reads (its data, its base): replayed, and read through the checks for folder files.
READ_PATHS = ("paths.data_dir", "data.data_dir", "data.name")
DATA_PATHS = ("paths.data_dir", "data.data_dir", "data.path")  # a replayed one hides data errors' content
PATTERN_LEAVES = ("target_modules", "modules_to_save", "rank_pattern", "alpha_pattern", "layers_to_transform")
PLAIN_NAME_VALUE = re.compile(r"^[\[\]{}A-Za-z0-9_.,:\s-]*$")
RESUME_WALK_LIMIT = 100_000  # entries in a run folder: checkpoints, logs, event files


def names_an_output(key: str) -> bool:
    """Whether a config key sets where a run writes (a folder, a file name, a URI)."""
    leaf = key.rsplit(".", 1)[-1]
    if key in READ_PATHS:
        return False
    return key.startswith(OUTPUT_SECTIONS) or leaf in OUTPUT_LEAVES or leaf.endswith(OUTPUT_LEAF_ENDINGS)


def check_recorded_override(override: object, source: Path) -> str:
    """``override`` when it only sets a plain value; else one line naming the file and the key."""
    if not isinstance(override, str):
        raise RunFolderError(f"{source}: entry {override!r} is not an override string; the file is damaged")
    key = override_key(override)

    def refuse(why: str) -> RunFolderError:
        return RunFolderError(
            f"{source}: key {key} {why}; resume= replays only plain config values from a run folder "
            "(type it on the command line yourself if you mean it)"
        )

    if "=" not in override and not override.startswith("~"):
        raise refuse("has no value")
    if key == "hydra" or key.startswith(("hydra.", "hydra/")):
        raise refuse("is a Hydra setting (callbacks, logging handlers, launchers select code)")
    if not PLAIN_KEY.match(override.split("=", 1)[0]):
        raise refuse("is not a plain config key")
    word = next((w for w in CODE_WORDS if w in override), None)
    if word:
        raise refuse(f"holds {word}, which selects code to run")
    if "${" in override:
        raise refuse("holds an interpolation (${...}), not a plain value")
    value = override_value(override)
    if not override.isprintable():
        raise refuse("holds control characters")
    if names_an_output(key):
        raise refuse(f"sets where the run writes ({escaped(value)}), which a handed-over folder may aim anywhere")
    if key.rsplit(".", 1)[-1] in PATTERN_LEAVES and not PLAIN_NAME_VALUE.match(value):
        raise refuse("holds a pattern (a regular expression), which a folder may craft to run for hours")
    if "." not in key and (not GROUP_CHOICE.match(value) or ".." in value):
        raise refuse(f"picks {value!r}, not a config of loralab's conf/ by name")
    return override


def recorded_overrides(overrides_file: Path, retyped: set[str] = frozenset()) -> list[str]:
    """The run's own overrides, each checked to set a plain value only; those of a key in
    ``retyped`` (typed again by the user) are left out unchecked, since they are not replayed."""
    try:
        recorded = OmegaConf.create(read_text_capped(overrides_file))
    except RunFolderError:
        raise
    except (OSError, OmegaConfBaseException, ValueError) as error:
        raise RunFolderError(f"{escaped(overrides_file)}: not a readable overrides list ({escaped(error)})") from None
    if not OmegaConf.is_list(recorded):
        raise RunFolderError(f"{overrides_file}: not a list of overrides; the file is damaged")
    overrides = OmegaConf.to_container(recorded)
    return [
        check_recorded_override(o, overrides_file)
        for o in overrides
        if not (isinstance(o, str) and override_key(o) in retyped)
    ]


def check_resumable_folder(run_dir: Path) -> None:
    """Regular files and folders only: a resumed run writes checkpoints, logs and Hydra's files into
    the folder, and a link there (or a fifo, a device) would take those writes, or a read, elsewhere."""
    for count, (folder, names, files) in enumerate(os.walk(run_dir)):
        if count > RESUME_WALK_LIMIT:
            raise RunFolderError(f"resume={escaped(run_dir)}: more than {RESUME_WALK_LIMIT} folders; not a run folder")
        for name in names + files:
            path = Path(folder) / name
            if path.is_symlink():
                raise RunFolderError(
                    f"resume={escaped(run_dir)}: {escaped(path)} is a link; a resumed run writes into its folder, "
                    "so the folder must hold its own files (copy the files the links point at into it)"
                )
            if name in files:
                regular_file(path)
                if os.lstat(path).st_nlink > 1:  # Hydra rewrites .hydra/*.yaml and appends to train.log in place
                    raise RunFolderError(
                        f"resume={escaped(run_dir)}: {escaped(path)} has other hard links; a file written in place "
                        "would change them too (copy the folder with cp -r to separate them)"
                    )


_data_named_by: dict[Path, str] = {}  # resumed run folder -> its overrides file, when it chose the data


def data_named_by_folder(output_dir: str | Path) -> str | None:
    """The overrides file of ``output_dir`` when it is a resumed run whose folder chose the data
    files, else None: errors about those files then name them without quoting what they hold."""
    return _data_named_by.get(Path(output_dir).resolve())


def resume_arguments(argv: list[str]) -> list[str]:
    """``argv`` with ``resume=<run folder>`` replaced by what reruns that folder; unchanged without it."""
    resume = [arg for arg in argv if arg.startswith(RESUME_PREFIX)]
    if not resume:
        return argv
    run_dir = Path(resume[-1].removeprefix(RESUME_PREFIX))
    if run_dir.is_symlink():
        run_dir = run_dir.resolve()  # the link itself is the user's; what it points at is checked
    overrides_file = run_dir / ".hydra" / "overrides.yaml"
    if not os.path.lexists(overrides_file):
        raise FileNotFoundError(
            f"resume={run_dir}: no {overrides_file}; pass a run folder made by train.py (outputs/<task>/<time>)"
        )
    checkpoint = run_dir / LAST_CHECKPOINT
    if not os.path.lexists(checkpoint):
        raise FileNotFoundError(
            f"resume={run_dir}: no {LAST_CHECKPOINT} (the run stopped before its first epoch ended); start it again instead"
        )
    check_resumable_folder(run_dir)
    new = [arg for arg in argv if not arg.startswith(RESUME_PREFIX)]
    new_keys = {override_key(arg) for arg in new} | {"ckpt_path", RESUME_FINISHED}
    # What selects code or names a path is refused first, finished run or not.
    original = recorded_overrides(overrides_file, retyped=new_keys)
    argv = refuse_rerun_of_finished(run_dir, argv)
    new = [arg for arg in argv if not arg.startswith(RESUME_PREFIX)]
    if any(override_key(o) in DATA_PATHS for o in original):
        _data_named_by[run_dir.resolve()] = str(overrides_file)
    return [*original, *new, f"hydra.run.dir={run_dir}", f"ckpt_path={checkpoint}"]


def refuse_rerun_of_finished(run_dir: Path, argv: list[str]) -> list[str]:
    """``argv`` without the ``resume_finished`` flag. A finished run (its ``metrics.json`` written)
    is resumed only for more epochs than it ran, or when the flag asks for it: otherwise its results
    would be rewritten by a run that trains nothing."""
    flags = [arg for arg in argv if override_key(arg) == RESUME_FINISHED]
    argv = [arg for arg in argv if arg not in flags]
    metrics_file = run_dir / METRICS_FILE
    if not metrics_file.is_file() or any(flag.split("=", 1)[-1].lower() == "true" for flag in flags):
        return argv
    try:
        epochs = int(json.loads(read_text_capped(metrics_file))["epochs"])
    except RunFolderError:
        raise
    except (OSError, ValueError, KeyError, TypeError):
        epochs = None
    wanted = [override_value(arg) for arg in argv if override_key(arg) == "trainer.max_epochs"]
    if epochs is not None and wanted and wanted[-1].isdigit() and int(wanted[-1]) > epochs:
        return argv
    ran = f"{epochs} epochs, " if epochs is not None else ""
    raise ValueError(
        f"resume={run_dir}: the run has finished ({ran}{METRICS_FILE} written) and resuming would rewrite its "
        f"results; pass trainer.max_epochs=<more than {epochs if epochs is not None else 'it ran'}> to train on, "
        f"or +{RESUME_FINISHED}=true to run it again in place"
    )


def check_checkpoint(path: str | Path) -> None:
    """Fail before training starts if ``ckpt_path`` is missing or not a readable checkpoint."""
    path = Path(path)
    if not os.path.lexists(path):
        raise FileNotFoundError(
            f"ckpt_path={escaped(path)} does not exist; pass a .ckpt file, or resume=<run folder> to continue a run"
        )
    regular_file(path)
    try:
        torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as error:  # torch raises several types for a damaged file
        raise ValueError(
            f"ckpt_path={path} is not a readable checkpoint ({type(error).__name__}); it is damaged or truncated"
        ) from None
