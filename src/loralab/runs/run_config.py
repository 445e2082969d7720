"""``run_config.json``: what rebuilds a run's model, as plain values only.

Written at the end of training; ``eval.py``, ``predict.py`` and ``export.py`` read nothing else to
rebuild the model. The ``net``, ``lora`` and ``data`` sections are the plain values of the settings
classes the run trained with (``loralab.settings``) and are read back through the same classes:
the same types, ranges and rules. A model family is a name from a fixed list, mapped in code to
loralab's own builders; nothing in the file names code to import or run, and anything that would
(a ``_target_``, ``trust_remote_code``, ``auto_map``, an unknown family, key or value) is refused by
name before any other file is read.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from loralab.atomic_files import atomic_write_json
from loralab.files.safe_paths import RunFolderError, folder_file, read_json_capped
from loralab.settings import ConfigValueError, DataSettings, LoraSettings, TextClassifierNet, TransformerNet
from loralab.settings.data import CLASS_LIMIT, LABEL_NAME_LIMIT
from loralab.terminal_text import escaped

RUN_CONFIG_FILE = "run_config.json"
FORMAT = 1

# Keys that make Hydra, transformers or PEFT import or run code; a run folder never holds them.
CODE_KEYS = ("_target_", "_partial_", "_args_", "_recursive_", "_convert_", "trust_remote_code", "auto_map")
LORA_KIND = {"textclassifier": "loralab", "hf_classifier": "peft"}
SHA256 = re.compile(r"^[0-9a-f]{64}$")
# LoRA targets and pattern keys are recorded as the full module names they matched (runs/run_model.py):
# plain dotted names, compared as strings, so nothing from a folder is ever compiled as a regex.
MODULE_NAME = re.compile(r"[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*")
MODULE_NAME_LENGTH = 256
MODULE_NAME_COUNT = 10_000
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
NET_SETTINGS = {"textclassifier": TextClassifierNet, "hf_classifier": TransformerNet}


def _is_code_key(key: Any, item: Any) -> bool:
    return key in CODE_KEYS


def find_code_keys(value: Any, where: str = "", is_code_key: Callable[[Any, Any], bool] = _is_code_key) -> str | None:
    """The dotted name of the first key anywhere in ``value`` that would select code (by
    ``is_code_key(key, value)``), else None."""
    if isinstance(value, dict):
        for key, item in value.items():
            name = f"{where}.{key}" if where else str(key)
            if is_code_key(key, item):
                return name
            found = find_code_keys(item, name, is_code_key)
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = find_code_keys(item, f"{where}[{index}]", is_code_key)
            if found:
                return found
    return None


def refuse_code_keys(path: Path, value: Any) -> None:
    key = find_code_keys(value)
    if key:
        raise RunFolderError(
            f"{path}: key {key} would select code to run; a run folder holds plain values only and opening one "
            "never runs code it names (retrain, or rebuild the file with plain values)"
        )


NOT_A_MODULE_NAME = (
    f"not a plain dotted module name (letters, digits, _ and ., at most {MODULE_NAME_LENGTH} characters): a run "
    "records the modules its patterns matched, never a pattern (retrain with this version of loralab)"
)


def _short(value: Any) -> str:
    shown = escaped(repr(value))
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _fail(path: Path, key: str, problem: str) -> RunFolderError:
    return RunFolderError(
        f"{escaped(path)}: key {escaped(key)} {problem}; the file is damaged or was not written by train.py"
    )


def _show(value: Any) -> str:
    return escaped(repr(value))[:100]


def read_settings(cls: type, value: Any, path: Path, section: str, skip: tuple[str, ...] = ()) -> Any:
    """``value`` (a section of the file) as an instance of the settings class ``cls``: every field
    present, none unknown, each of its type (OmegaConf's check of the dataclass) and in range (the
    class's own). Strings are never resolved as OmegaConf interpolations."""
    if not isinstance(value, dict):
        raise _fail(path, section, "must be an object")
    fields = {field.name for field in dataclasses.fields(cls)}
    # A class's record_defaults stand in for keys a record may lack (LoraSettings: plain LoRA).
    given = {**getattr(cls, "record_defaults", {}), **{key: item for key, item in value.items() if key not in skip}}
    for key in sorted(set(given) - fields):
        raise _fail(path, f"{section}.{key}", "is not a run_config.json key")
    for key in sorted(fields - set(given)):
        raise _fail(path, f"{section}.{key}", "is missing")
    if "${" in repr(given):
        raise _fail(path, section, "holds an interpolation (${...}); a run records plain values")
    try:
        return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(cls), given))
    except ConfigValueError as error:
        raise _fail(path, f"{section}.{error.key}", f"is {_show(error.value)}: {error.allowed}") from None
    except OmegaConfBaseException as error:
        key = str(getattr(error, "full_key", "") or "")
        problem = str(error).strip().splitlines()[0]
        raise _fail(
            path, f"{section}.{key}" if key else section, f"has a value of the wrong type ({escaped(problem)[:160]})"
        ) from None


def _module_name(path: Path, name: Any, key: str, verb: str = "is") -> None:
    if not isinstance(name, str) or len(name) > MODULE_NAME_LENGTH or not MODULE_NAME.fullmatch(name):
        raise _fail(path, key, f"{verb} {_short(name)}, {NOT_A_MODULE_NAME}")


def _plain_module_names(path: Path, lora: dict) -> None:
    """A run records the modules its patterns matched: names compared as strings, never a regex."""
    for key in ("target_modules", "modules_to_save"):
        names = lora.get(key)
        if isinstance(names, str):
            raise _fail(path, f"lora.{key}", f"is the string {_short(names)}, {NOT_A_MODULE_NAME}")
        if not isinstance(names, list) or len(names) > MODULE_NAME_COUNT:
            raise _fail(path, f"lora.{key}", f"must be a list of at most {MODULE_NAME_COUNT} module names")
        for index, name in enumerate(names):
            _module_name(path, name, f"lora.{key}[{index}]")
    for key in ("rank_pattern", "alpha_pattern"):
        pattern = lora.get(key)
        if not isinstance(pattern, dict) or len(pattern) > MODULE_NAME_COUNT:
            raise _fail(
                path, f"lora.{key}", f"must be an object of at most {MODULE_NAME_COUNT} module names to numbers"
            )
        for name in pattern:
            _module_name(path, name, f"lora.{key}", verb="holds the key")


def _check_section(
    path: Path, value: Any, key: str, allowed: dict[str, Callable[[Any], bool]], optional: bool = False
) -> None:
    """A small section that is not a settings class (tokenizer, base): known keys, each passing its test."""
    if value is None and optional:
        return
    if not isinstance(value, dict):
        raise _fail(path, key, "must be an object")
    for name in sorted(set(value) ^ set(allowed)):
        raise _fail(path, f"{key}.{name}", "is not a run_config.json key" if name in value else "is missing")
    for name, accepts in allowed.items():
        if not accepts(value[name]):
            raise _fail(path, f"{key}.{name}", f"is {_show(value[name])}, not a valid value")


def _optional(test: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda value: value is None or test(value)


def _text(value: Any) -> bool:
    return isinstance(value, str)


def _digest(value: Any) -> bool:
    return isinstance(value, str) and SHA256.match(value) is not None


def _positive(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 1 << 20


TOKENIZERS = {
    "textclassifier": {"kind": lambda v: v == "word", "vocab": _text},
    "hf_classifier": {"kind": lambda v: v == "pretrained", "folder": _text, "max_length": _optional(_positive)},
}
BASES = {
    "textclassifier": {"path": _text, "sha256": _digest},
    "hf_classifier": {
        "path": _optional(_text),
        "hub_id": _optional(lambda v: isinstance(v, str) and HUB_ID.match(v) is not None),
        "files": lambda v: isinstance(v, dict),
    },
}
TOP_KEYS = ("format", "family", "num_classes", "label_names", "net", "tokenizer", "lora", "base", "data")


def read_run_config(run_dir: str | Path) -> dict:
    """The validated description of ``run_dir``'s model; anything that is not a plain, known value
    is refused. ``net``, ``lora`` and ``data`` come back as settings objects."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(
            f"{run_dir} is not a folder; pass a run folder made by train.py (outputs/<task>/<time>)"
        )
    if not os.path.lexists(run_dir / RUN_CONFIG_FILE):
        raise FileNotFoundError(
            f"{run_dir} has no {RUN_CONFIG_FILE}: not a finished loralab run folder (train.py writes it when "
            "training ends); pass a folder under outputs/ or multirun/"
        )
    path = folder_file(run_dir, RUN_CONFIG_FILE)
    config = read_json_capped(path)
    refuse_code_keys(path, config)
    if not isinstance(config, dict):
        raise _fail(path, "(top level)", "must be an object")
    for key in sorted(set(config) ^ set(TOP_KEYS)):
        raise _fail(path, key, "is not a run_config.json key" if key in config else "is missing")
    if config["format"] != FORMAT:
        raise _fail(path, "format", f"is {_show(config['format'])}, not {FORMAT}")
    family = config["family"]
    if family not in LORA_KIND:
        raise _fail(path, "family", f"is {_show(family)}, not one of {', '.join(map(repr, LORA_KIND))}")
    data = read_settings(
        DataSettings, dict(config["data"], cache_dir=".") if isinstance(config["data"], dict) else None, path, "data"
    )
    classes, names = config["num_classes"], config["label_names"]
    if not isinstance(classes, int) or isinstance(classes, bool) or not 1 <= classes <= CLASS_LIMIT:
        raise _fail(path, "num_classes", f"is {_show(classes)}, not an integer from 1 to {CLASS_LIMIT}")
    if not isinstance(names, list) or not all(isinstance(n, str) and len(n) <= LABEL_NAME_LIMIT for n in names):
        raise _fail(path, "label_names", f"must be a list of names of at most {LABEL_NAME_LIMIT} characters")
    if len(names) != classes:
        raise _fail(path, "label_names", f"has {len(names)} names for {classes} classes")
    net = read_settings(NET_SETTINGS[family], config["net"], path, "net")
    _check_section(path, config["tokenizer"], "tokenizer", TOKENIZERS[family])
    _check_section(path, config["base"], "base", BASES[family], optional=True)
    lora = config["lora"]
    if lora is not None:
        if (
            not isinstance(lora, dict)
            or lora.get("kind") != LORA_KIND[family]
            or not isinstance(lora.get("adapter"), str)
        ):
            raise _fail(path, "lora.kind", f"must be {LORA_KIND[family]!r}, with the adapter folder in lora.adapter")
        _plain_module_names(path, lora)
        lora = read_settings(LoraSettings, lora, path, "lora", skip=("kind", "adapter"))
    if family == "hf_classifier":
        if config["base"] is None:
            raise _fail(path, "base", "is missing (a transformer run needs its backbone)")
        for name, digest in config["base"]["files"].items():
            if not _digest(digest):
                raise _fail(path, f"base.files.{name}", f"is {_show(digest)}, not a sha256")
            if "/" in name or "\\" in name or name.startswith("."):
                raise _fail(path, f"base.files.{name}", "must name a file of the backbone folder")
    if family == "textclassifier" and lora is not None and config["base"] is None:
        raise _fail(path, "base", "is missing (a LoRA run needs its base)")
    return config | {"net": net, "lora": lora, "adapter": config["lora"]["adapter"] if lora else None, "data": data}


def write_run_config(output_dir: str | Path, description: dict) -> Path:
    return atomic_write_json(Path(output_dir) / RUN_CONFIG_FILE, {"format": FORMAT, **description})
