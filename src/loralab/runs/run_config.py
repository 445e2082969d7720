"""``run_config.json``: what rebuilds a run's model, as plain values only.

Written at the end of training; ``eval.py``, ``predict.py`` and ``export.py`` read nothing else to
rebuild the model. A model family is a name from a fixed list, mapped in code to loralab's own
builders; nothing in the file names code to import or run, and anything that would (a
``_target_``, ``trust_remote_code``, ``auto_map``, an unknown family, key or value) is refused by
name before any other file is read.
"""

from __future__ import annotations

import inspect
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from loralab.atomic_files import atomic_write_json
from loralab.files.safe_paths import RunFolderError, folder_file, read_json_capped
from loralab.terminal_text import escaped

RUN_CONFIG_FILE = "run_config.json"
FORMAT = 1

# Keys that make Hydra, transformers or PEFT import or run code; a run folder never holds them.
CODE_KEYS = ("_target_", "_partial_", "_args_", "_recursive_", "_convert_", "trust_remote_code", "auto_map")
ATTENTION = ("eager", "sdpa", "flash_attention_2", "flash_attention_3", "flex_attention", None)  # no Hub kernels
DTYPES = ("float32", "float16", "bfloat16")
SCALING = ("standard", "rslora", "lab")
LORA_KIND = {"textclassifier": "loralab", "hf_classifier": "peft"}
SHA256 = re.compile(r"^[0-9a-f]{64}$")
# LoRA targets and pattern keys are recorded as the full module names they matched (runs/run_model.py):
# plain dotted names, compared as strings, so nothing from a folder is ever compiled as a regex.
MODULE_NAME = re.compile(r"[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*")
MODULE_NAME_LENGTH = 256
MODULE_NAME_COUNT = 10_000
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
# Sizes a run records, bounded before anything of that size is built (the weights' headers are
# then checked against them): wide enough for any model loralab trains, far below what fills memory.
WIDTH_LIMIT = 1 << 16  # embed_dim, hidden_dim
CLASS_LIMIT = 100_000  # a head of this many classes; more is a crafted size, not a data set
RANK_LIMIT = 1 << 12  # a LoRA rank above a layer's width adds nothing
ALPHA_LIMIT = 1e6
NAME_LIMIT = 200  # characters of a label name


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


class _Reader:
    """Type checks of one file's keys, each failure one line naming the file and the key."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, problem: str) -> RunFolderError:
        return RunFolderError(
            f"{escaped(self.path)}: key {escaped(key)} {problem}; the file is damaged or was not written by train.py"
        )

    def section(self, value: Any, key: str, allowed: dict[str, Any]) -> dict:
        if not isinstance(value, dict):
            raise self.fail(key, "must be an object")
        unknown = sorted(set(value) - set(allowed))
        if unknown:
            raise self.fail(f"{key}.{unknown[0]}" if key else unknown[0], "is not a run_config.json key")
        missing = sorted(set(allowed) - set(value))
        if missing:
            raise self.fail(f"{key}.{missing[0]}" if key else missing[0], "is missing")
        for name, check in allowed.items():
            check(value[name], f"{key}.{name}" if key else name)
        return value

    def one_of(self, choices: tuple) -> Any:
        def check(value: Any, key: str) -> None:
            if not isinstance(value, (str, int, float, type(None))) or value not in choices:
                raise self.fail(key, f"is {escaped(repr(value))[:100]}, not one of {', '.join(map(repr, choices))}")

        return check

    def of_type(self, *types: type, optional: bool = False) -> Any:
        def check(value: Any, key: str) -> None:
            if value is None and optional:
                return
            if isinstance(value, bool) and bool not in types:
                raise self.fail(key, f"must be {'/'.join(t.__name__ for t in types)}, not {escaped(repr(value))[:100]}")
            if not isinstance(value, types):
                raise self.fail(key, f"must be {'/'.join(t.__name__ for t in types)}, not {escaped(repr(value))[:100]}")

        return check

    def matching(self, pattern: re.Pattern, optional: bool = False) -> Any:
        def check(value: Any, key: str) -> None:
            if value is None and optional:
                return
            if not isinstance(value, str) or not pattern.match(value):
                raise self.fail(key, f"is {escaped(repr(value))[:100]}, not a valid value")

        return check

    def module_name(self, name: Any, key: str, verb: str = "is") -> None:
        if not isinstance(name, str) or len(name) > MODULE_NAME_LENGTH or not MODULE_NAME.fullmatch(name):
            raise self.fail(key, f"{verb} {_short(name)}, {NOT_A_MODULE_NAME}")

    def module_names(self, value: Any, key: str) -> None:
        if isinstance(value, str):
            raise self.fail(key, f"is the string {_short(value)}, {NOT_A_MODULE_NAME}")
        if not isinstance(value, list) or len(value) > MODULE_NAME_COUNT:
            raise self.fail(key, f"must be a list of at most {MODULE_NAME_COUNT} module names")
        for index, name in enumerate(value):
            self.module_name(name, f"{key}[{index}]")

    def by_module_name(self, check_value: Any) -> Any:
        """An object of module names to values that each pass ``check_value`` (rank_pattern...)."""

        def check(value: Any, key: str) -> None:
            if value is None:
                return
            if not isinstance(value, dict) or len(value) > MODULE_NAME_COUNT:
                raise self.fail(key, f"must be an object of at most {MODULE_NAME_COUNT} module names to numbers")
            for name, number in value.items():
                self.module_name(name, key, verb="holds the key")
                check_value(number, f"{key}.{name}")

        return check

    def in_range(self, low: float, high: float, integer: bool = False, optional: bool = False) -> Any:
        def check(value: Any, key: str) -> None:
            if value is None and optional:
                return
            kinds = int if integer else (int, float)
            if isinstance(value, bool) or not isinstance(value, kinds) or not low <= value <= high:
                what = "an integer" if integer else "a number"
                raise self.fail(key, f"is {escaped(repr(value))[:40]}, not {what} from {low:g} to {high:g}")

        return check

    def plain(self, value: Any, key: str) -> None:
        """A scalar or a list of scalars: what a data setting holds."""
        items = value if isinstance(value, list) else [value]
        if not all(item is None or isinstance(item, (str, int, float, bool)) for item in items):
            raise self.fail(key, "must be a plain value (string, number, boolean, null or a list of them)")


def data_settings() -> list[str]:
    from loralab.data import TextClassificationDataModule

    return [name for name in inspect.signature(TextClassificationDataModule).parameters if name != "tokenizer"]


def read_run_config(run_dir: str | Path) -> dict:
    """The validated description of ``run_dir``'s model; anything that is not a plain, known value is refused."""
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
    read = _Reader(path)
    if not isinstance(config, dict):
        raise read.fail("(top level)", "must be an object")
    read.one_of(tuple(LORA_KIND))(config.get("family"), "family")
    family = config["family"]
    if family == "textclassifier":
        net = {
            "embed_dim": read.in_range(1, WIDTH_LIMIT, integer=True),
            "hidden_dim": read.in_range(1, WIDTH_LIMIT, integer=True),
            "freeze_embeddings": read.of_type(bool),
            "word_dropout": read.in_range(0, 1),
            "count_each_word_once": read.of_type(bool),
        }
        tokenizer = {"kind": read.one_of(("word",)), "vocab": read.of_type(str)}
        base = {"path": read.of_type(str), "sha256": read.matching(SHA256)}
    else:
        net = {"attn_implementation": read.one_of(ATTENTION), "dtype": read.one_of(DTYPES)}
        tokenizer = {
            "kind": read.one_of(("pretrained",)),
            "folder": read.of_type(str),
            "max_length": read.in_range(1, 1 << 20, integer=True, optional=True),
        }
        base = {
            "path": read.of_type(str, optional=True),
            "hub_id": read.matching(HUB_ID, optional=True),
            "files": read.of_type(dict),
        }
    lora = {
        "kind": read.one_of((LORA_KIND[family],)),
        "adapter": read.of_type(str),
        "target_modules": read.module_names,
        "rank": read.in_range(1, RANK_LIMIT, integer=True),
        "alpha": read.in_range(0, ALPHA_LIMIT),
        "dropout": read.in_range(0, 0.999),
        "scaling": read.one_of(SCALING),
        "modules_to_save": read.module_names,
        "freeze_embeddings": read.of_type(bool),
        "rank_pattern": read.by_module_name(read.in_range(1, RANK_LIMIT, integer=True)),
        "alpha_pattern": read.by_module_name(read.in_range(0, ALPHA_LIMIT)),
    }

    def section(allowed: dict, optional: bool = False) -> Any:
        def check(value: Any, key: str) -> None:
            if value is None and optional:
                return
            read.section(value, key, allowed)

        return check

    def data(value: Any, key: str) -> None:
        read.section(value, key, dict.fromkeys(value, read.plain) if isinstance(value, dict) else {})
        unknown = sorted(set(value) - (set(data_settings()) - {"cache_dir"}))
        if unknown:
            raise read.fail(f"{key}.{unknown[0]}", "is not a data setting")

    def label_names(value: Any, key: str) -> None:
        if not isinstance(value, list) or not all(isinstance(name, str) and len(name) <= NAME_LIMIT for name in value):
            raise read.fail(key, f"must be a list of names of at most {NAME_LIMIT} characters")

    read.section(
        config,
        "",
        {
            "format": read.one_of((FORMAT,)),
            "family": read.one_of(tuple(LORA_KIND)),
            "num_classes": read.in_range(1, CLASS_LIMIT, integer=True),
            "label_names": label_names,
            "net": section(net),
            "tokenizer": section(tokenizer),
            "lora": section(lora, optional=True),
            "base": section(base, optional=True),
            "data": data,
        },
    )
    if len(config["label_names"]) != config["num_classes"]:
        raise read.fail("label_names", f"has {len(config['label_names'])} names for {config['num_classes']} classes")
    if family == "hf_classifier":
        if config["base"] is None:
            raise read.fail("base", "is missing (a transformer run needs its backbone)")
        for name, digest in config["base"]["files"].items():
            read.matching(SHA256)(digest, f"base.files.{name}")
            if "/" in name or "\\" in name or name.startswith("."):
                raise read.fail(f"base.files.{name}", "must name a file of the backbone folder")
    if config["lora"] is not None and not config["lora"]["target_modules"]:
        raise read.fail("lora.target_modules", "is empty (a LoRA run wraps at least one module)")
    if family == "textclassifier" and config["lora"] is not None and config["base"] is None:
        raise read.fail("base", "is missing (a LoRA run needs its base)")
    return config


def write_run_config(output_dir: str | Path, description: dict) -> Path:
    return atomic_write_json(Path(output_dir) / RUN_CONFIG_FILE, {"format": FORMAT, **description})
