"""``run_config.json``: what rebuilds a run's model, as plain values only.

Written at the end of training; ``eval.py``, ``predict.py`` and ``export.py`` read nothing else to
rebuild the model. A model family is a name from a fixed list, mapped in code to loralab's own
builders; nothing in the file names code to import or run, and anything that would (a
``_target_``, ``trust_remote_code``, ``auto_map``, an unknown family, key or value) is refused by
name before any other file is read.
"""

from __future__ import annotations

import inspect
import json
import os
import re
from pathlib import Path
from typing import Any

from loralab.atomic_files import atomic_write_json
from loralab.runs.safe_paths import RunFolderError, folder_file, read_text_capped
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
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
# Sizes a run records, bounded before anything of that size is built (the weights' headers are
# then checked against them): wide enough for any model loralab trains, far below what fills memory.
WIDTH_LIMIT = 1 << 16  # embed_dim, hidden_dim
CLASS_LIMIT = 1 << 14  # num_classes
RANK_LIMIT = 1 << 12  # LoRA rank
NAME_LIMIT = 200  # characters of a label name


def find_code_keys(value: Any, where: str = "") -> str | None:
    """The dotted name of the first key anywhere in ``value`` that would select code, else None."""
    if isinstance(value, dict):
        for key, item in value.items():
            name = f"{where}.{key}" if where else str(key)
            if key in CODE_KEYS:
                return name
            found = find_code_keys(item, name)
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = find_code_keys(item, f"{where}[{index}]")
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


def check_json_file_has_no_code_keys(path: Path) -> None:
    """A library config (tokenizer_config.json, config.json) without ``auto_map`` or other code keys."""
    try:
        value = json.loads(read_text_capped(path))
    except (OSError, json.JSONDecodeError) as error:
        raise RunFolderError(f"{escaped(path)}: not readable JSON ({escaped(error)})") from None
    refuse_code_keys(path, value)


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

    def integer(self, low: int, high: int) -> Any:
        def check(value: Any, key: str) -> None:
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise self.fail(key, f"is {escaped(repr(value))[:100]}, not an integer in {low}..{high}")

        return check

    def fraction(self, value: Any, key: str) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise self.fail(key, f"is {escaped(repr(value))[:100]}, not a number in 0..1")

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

    def strings(self, value: Any, key: str) -> None:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
            raise self.fail(key, "must be a string or a list of strings")

    def numbers_by_name(self, value: Any, key: str) -> None:
        if value is None:
            return
        if not isinstance(value, dict) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value.values()
        ):
            raise self.fail(key, "must be an object of numbers")

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
    try:
        config = json.loads(read_text_capped(path))
    except json.JSONDecodeError as error:
        raise RunFolderError(f"{escaped(path)}: not readable JSON ({error}); the file is damaged") from None
    refuse_code_keys(path, config)
    read = _Reader(path)
    if not isinstance(config, dict):
        raise read.fail("(top level)", "must be an object")
    read.one_of(tuple(LORA_KIND))(config.get("family"), "family")
    family = config["family"]
    if family == "textclassifier":
        net = {
            "embed_dim": read.integer(1, WIDTH_LIMIT),
            "hidden_dim": read.integer(1, WIDTH_LIMIT),
            "freeze_embeddings": read.of_type(bool),
            "word_dropout": read.fraction,
            "count_each_word_once": read.of_type(bool),
        }
        tokenizer = {"kind": read.one_of(("word",)), "vocab": read.of_type(str)}
        base = {"path": read.of_type(str), "sha256": read.matching(SHA256)}
    else:
        net = {"attn_implementation": read.one_of(ATTENTION), "dtype": read.one_of(DTYPES)}
        tokenizer = {
            "kind": read.one_of(("pretrained",)),
            "folder": read.of_type(str),
            "max_length": read.of_type(int, optional=True),
        }
        base = {
            "path": read.of_type(str, optional=True),
            "hub_id": read.matching(HUB_ID, optional=True),
            "files": read.of_type(dict),
        }
    lora = {
        "kind": read.one_of((LORA_KIND[family],)),
        "adapter": read.of_type(str),
        "target_modules": read.strings,
        "rank": read.integer(1, RANK_LIMIT),
        "alpha": read.of_type(int, float),
        "dropout": read.fraction,
        "scaling": read.one_of(SCALING),
        "modules_to_save": read.strings,
        "freeze_embeddings": read.of_type(bool),
        "rank_pattern": read.numbers_by_name,
        "alpha_pattern": read.numbers_by_name,
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
            "num_classes": read.integer(2, CLASS_LIMIT),
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
    elif config["lora"] is not None and config["base"] is None:
        raise read.fail("base", "is missing (a LoRA run needs its base)")
    return config


def write_run_config(output_dir: str | Path, description: dict) -> Path:
    return atomic_write_json(Path(output_dir) / RUN_CONFIG_FILE, {"format": FORMAT, **description})
