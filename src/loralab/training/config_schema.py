"""The type and range of every documented config key, checked in one pass over the composed config
before anything loads, so a wrong value is refused with the key, the value and what is allowed
instead of surfacing later as a library's traceback (or not at all: ``data.max_length=0``).

Hydra and OmegaConf already refuse unknown keys (struct mode) and unset ``???`` values
(``config_checks``); this module checks what they cannot: types of untyped YAML and ranges.
A key absent from the composed config (another model family's, an optimizer without momentum)
is not checked.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import InterpolationToMissingValueError, MissingMandatoryValue, OmegaConfBaseException


class ConfigValueError(ValueError):
    """A config value of the wrong type or outside its range."""


@dataclass(frozen=True)
class Allowed:
    """What a key accepts: ``accepts(value)`` and the words that tell the user."""

    describe: str
    accepts: Callable[[Any], bool]

    def __or__(self, other: Allowed) -> Allowed:
        return Allowed(f"{self.describe} or {other.describe}", lambda v: self.accepts(v) or other.accepts(v))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_encoding(value: Any) -> bool:
    try:
        codecs.lookup(value)
    except (LookupError, TypeError):
        return False
    return True


NULL = Allowed("null", lambda v: v is None)
BOOLEAN = Allowed("true or false", lambda v: isinstance(v, bool))
TEXT = Allowed("a non-empty string", lambda v: isinstance(v, str) and v.strip() != "")
TEXT_OR_NULL = TEXT | NULL
MAPPING = Allowed("a mapping {key: value}", lambda v: isinstance(v, Mapping))


def integer(minimum: int, maximum: int | None = None) -> Allowed:
    words = f"an integer >= {minimum}" if maximum is None else f"an integer in [{minimum}, {maximum}]"
    return Allowed(words, lambda v: _is_int(v) and v >= minimum and (maximum is None or v <= maximum))


def number(minimum: float, above: bool = False) -> Allowed:
    """A number ``>= minimum`` (``> minimum`` when ``above``); an int is a number."""
    words = f"a number {'>' if above else '>='} {minimum:g}"
    return Allowed(words, lambda v: _is_number(v) and (v > minimum if above else v >= minimum))


def fraction(upper_open: bool = True, lower_open: bool = False) -> Allowed:
    """A number in [0, 1) (or (0, 1), [0, 1])."""
    words = f"a number in {'(' if lower_open else '['}0, 1{')' if upper_open else ']'}"

    def accepts(v: Any) -> bool:
        if not _is_number(v):
            return False
        return (v > 0 if lower_open else v >= 0) and (v < 1 if upper_open else v <= 1)

    return Allowed(words, accepts)


def choice(*options: Any) -> Allowed:
    return Allowed(f"one of {', '.join(map(str, options))}", lambda v: not isinstance(v, bool) and v in options)


def list_of(item: Allowed, non_empty: bool = True) -> Allowed:
    words = f"a {'non-empty ' if non_empty else ''}list of {item.describe.removeprefix('a ').removeprefix('an ')}s"
    return Allowed(
        words, lambda v: isinstance(v, list) and (bool(v) or not non_empty) and all(item.accepts(x) for x in v)
    )


def mapping_of(item: Allowed) -> Allowed:
    words = f"a mapping {{module: {item.describe}}}"
    return Allowed(words, lambda v: isinstance(v, Mapping) and all(item.accepts(x) for x in v.values()))


POSITIVE = integer(1)
POSITIVE_OR_NULL = POSITIVE | NULL
PRECISIONS = ("32-true", "32", "16-mixed", "bf16-mixed", "16-true", "bf16-true", "64-true", "64", "16", "bf16")

# Every documented key of conf/ (see the comments there for what each does).
SCHEMA: dict[str, Allowed] = {
    "task_name": TEXT,
    "seed": integer(0, 2**32 - 1),  # NumPy's seed range
    "test": BOOLEAN,
    "ckpt_path": TEXT_OR_NULL,
    "optimized_metric": TEXT,
    # data
    "data.name": TEXT,
    "data.num_classes": integer(2),
    "data.label_names": list_of(TEXT) | NULL,
    "data.path": TEXT_OR_NULL,
    "data.data_dir": TEXT_OR_NULL,
    "data.hub_id": TEXT_OR_NULL,
    "data.text_column": TEXT,
    "data.label_column": TEXT,
    "data.encoding": Allowed("an encoding Python knows (utf-8, latin-1, cp1252, utf-16...)", lambda v: _is_encoding(v)),
    "data.val_fraction": fraction(),
    "data.test_fraction": fraction(lower_open=True),
    "data.max_train_samples": POSITIVE_OR_NULL,
    "data.max_test_samples": POSITIVE_OR_NULL,
    "data.max_length": POSITIVE_OR_NULL,
    "data.batch_size": POSITIVE,
    "data.eval_batch_size": POSITIVE_OR_NULL,
    "data.group_by_length": BOOLEAN,
    "data.pad_to_multiple_of": POSITIVE_OR_NULL,
    "data.num_workers": integer(0),
    "data.pin_memory": BOOLEAN,
    "data.seed": integer(0, 2**32 - 1),
    "data.cache_dir": TEXT,
    # model: shared, tokenizer, network, LoRA
    "model.backbone": TEXT,
    "model.pretrained": TEXT_OR_NULL,
    "model.glove_path": TEXT_OR_NULL,
    "model.freeze_embeddings": BOOLEAN,
    "model.compile": BOOLEAN | MAPPING,
    "model.tokenizer.min_frequency": POSITIVE,
    "model.tokenizer.max_size": integer(2) | NULL,
    "model.tokenizer.vocab_path": TEXT_OR_NULL,
    "model.tokenizer.vocab_corpora": list_of(MAPPING, non_empty=False) | NULL,
    "model.tokenizer.name_or_path": TEXT,
    "model.tokenizer.max_length": POSITIVE_OR_NULL,
    "model.tokenizer.trust_remote_code": BOOLEAN,
    "model.net.num_classes": integer(2),
    "model.net.embed_dim": POSITIVE,
    "model.net.hidden_dim": POSITIVE,
    "model.net.word_dropout": fraction(),
    "model.net.count_each_word_once": BOOLEAN,
    "model.net.dtype": choice("float32", "bfloat16", "float16"),
    "model.net.attn_implementation": TEXT_OR_NULL,
    "model.net.gradient_checkpointing": BOOLEAN,
    "model.net.trust_remote_code": BOOLEAN,
    "model.lora.target_modules": list_of(TEXT) | TEXT,
    "model.lora.rank": POSITIVE,
    "model.lora.alpha": number(0),
    "model.lora.rank_pattern": mapping_of(POSITIVE) | NULL,
    "model.lora.alpha_pattern": mapping_of(number(0)) | NULL,
    "model.lora.dropout": fraction(),
    "model.lora.scaling": choice("standard", "rslora", "lab"),
    "model.lora.modules_to_save": list_of(TEXT, non_empty=False) | NULL,
    "model.lora.freeze_embeddings": BOOLEAN,
    # optimizer and schedule
    "optim.optimizer.lr": number(0, above=True),
    "optim.optimizer.weight_decay": number(0),
    "optim.optimizer.momentum": number(0),
    "optim.optimizer.eps": number(0, above=True),
    "optim.optimizer.betas": list_of(fraction()),
    "optim.optimizer.fused": BOOLEAN | NULL,
    "optim.scheduler.warmup_ratio": fraction(),
    "optim.scheduler.step_size": POSITIVE,
    "optim.scheduler.gamma": number(0, above=True),
    "optim.scheduler_interval": choice("epoch", "step"),
    # trainer
    "trainer.max_epochs": POSITIVE_OR_NULL,
    "trainer.min_epochs": integer(0) | NULL,
    "trainer.max_steps": integer(-1),
    "trainer.accelerator": choice("auto", "cpu", "gpu", "cuda", "mps", "tpu", "hpu"),
    "trainer.devices": POSITIVE
    | choice("auto", -1)
    | list_of(integer(0))
    | Allowed("a string of device ids such as '0,1'", lambda v: isinstance(v, str) and v.replace(",", "").isdigit()),
    "trainer.num_nodes": POSITIVE,
    "trainer.precision": choice(*PRECISIONS, 16, 32, 64) | NULL,
    "trainer.log_every_n_steps": POSITIVE,
    "trainer.num_sanity_val_steps": integer(-1),
    "trainer.deterministic": BOOLEAN | choice("warn"),
    "trainer.gradient_clip_val": number(0) | NULL,
    "trainer.accumulate_grad_batches": POSITIVE,
    "trainer.check_val_every_n_epoch": POSITIVE_OR_NULL,
    "trainer.enable_progress_bar": BOOLEAN,
    "trainer.enable_model_summary": BOOLEAN,
    "trainer.enable_checkpointing": BOOLEAN,
    "trainer.sync_batchnorm": BOOLEAN,
    "trainer.strategy": TEXT,
    "trainer.default_root_dir": TEXT,
    # callbacks and logger
    "callbacks.model_checkpoint.monitor": TEXT,
    "callbacks.model_checkpoint.mode": choice("min", "max"),
    "callbacks.model_checkpoint.save_top_k": integer(-1),
    "callbacks.model_checkpoint.save_last": BOOLEAN,
    "callbacks.model_checkpoint.filename": TEXT,
    "callbacks.lr_monitor.logging_interval": choice("step", "epoch") | NULL,
    "callbacks.progress_bar.refresh_rate": integer(0),
    "callbacks.epoch_curves.filename": Allowed(
        "a file name ending in .png", lambda v: isinstance(v, str) and v.lower().endswith(".png") and "/" not in v
    ),
    "callbacks.stop_on_non_finite_loss.check_every_n_steps": POSITIVE_OR_NULL,
    "logger.tensorboard.save_dir": TEXT,
}
# Fractions of batches (Lightning's limit_*_batches, val_check_interval): a count or a share.
for _key in ("limit_train_batches", "limit_val_batches", "limit_test_batches", "val_check_interval"):
    SCHEMA[f"trainer.{_key}"] = integer(0) | fraction(upper_open=False) | NULL

_ABSENT = object()
_ALIAS = re.compile(r"\$\{([\w.]+)\}")


def _value(cfg: DictConfig, key: str) -> Any:
    """The resolved plain value at ``key``, ``_ABSENT`` when the key is not there."""
    parent_key, _, leaf = key.rpartition(".")
    parent = OmegaConf.select(cfg, parent_key, default=None) if parent_key else cfg
    if not isinstance(parent, DictConfig) or leaf not in parent:
        return _ABSENT
    node = parent._get_node(leaf)
    if node is None or node._is_missing():
        return _ABSENT  # ??? values: check_required_keys names them
    alias = _ALIAS.fullmatch(str(node._value())) if node._is_interpolation() else None
    if alias and alias.group(1) in SCHEMA:
        return _ABSENT  # a copy of another checked key (data.seed: ${seed}): named once, at its source
    value = parent[leaf]
    return OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value


def _show(value: Any) -> str:
    return f"{value!r} ({type(value).__name__})" if isinstance(value, str) else repr(value)


def config_errors(cfg: DictConfig) -> list[str]:
    """One message per key whose value is not allowed, in the order of ``SCHEMA``."""
    errors = []
    for key, allowed in SCHEMA.items():
        try:
            value = _value(cfg, key)
        except (MissingMandatoryValue, InterpolationToMissingValueError):
            continue  # an interpolation of a ??? value: check_required_keys names it
        except OmegaConfBaseException as error:
            message = str(error).strip().splitlines()[0]
            errors.append(f"{key} cannot be resolved ({message}); fix the interpolation or set {key}=<value>")
            continue
        if value is _ABSENT or allowed.accepts(value):
            continue
        errors.append(f"{key}={_show(value)} is not allowed: use {allowed.describe}")
    errors += _cross_key_errors(cfg)
    return errors


def _cross_key_errors(cfg: DictConfig) -> list[str]:
    """Checks that need two keys."""
    errors = []
    try:
        num_classes = _value(cfg, "data.num_classes")
        label_names = _value(cfg, "data.label_names")
        min_epochs, max_epochs = _value(cfg, "trainer.min_epochs"), _value(cfg, "trainer.max_epochs")
    except OmegaConfBaseException:
        return errors  # named by config_errors
    if _is_int(num_classes) and num_classes >= 2 and isinstance(label_names, list) and len(label_names) != num_classes:
        errors.append(
            f"data.label_names has {len(label_names)} names {label_names} but data.num_classes={num_classes}: "
            "give one name per class, in label order (or data.label_names=null)"
        )
    if isinstance(label_names, list) and len(set(map(str, label_names))) != len(label_names):
        errors.append(f"data.label_names={label_names} repeats a name: give each class its own name")
    if _is_int(min_epochs) and _is_int(max_epochs) and min_epochs > max_epochs:
        errors.append(f"trainer.min_epochs={min_epochs} is above trainer.max_epochs={max_epochs}: lower it")
    return errors


def check_config(cfg: DictConfig) -> None:
    """Refuse the config when any key is of the wrong type or out of range: every bad key in one line."""
    errors = config_errors(cfg)
    if errors:
        raise ConfigValueError("; ".join(errors))
