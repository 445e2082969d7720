"""A transformer backbone's ``config.json``, read as data with a schema.

transformers acts on what a config says: ``auto_map`` imports code, ``_attn_implementation`` can
fetch a compiled kernel from the Hub, ``quantization_config`` picks a quantizer, and sizes allocate
memory. So a run folder's backbone config is never handed to transformers. It is read here: the
model type must be one of the BERT-family types loralab builds (:data:`FAMILIES`), each kept key
must have its type and lie within bounds, keys that would select code or a kernel are refused by
name, and every other key is dropped. The model is then built from a config object loralab
constructs itself, with attention and dtype from ``run_config.json``'s allow-listed settings.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loralab.files.safe_paths import RunFolderError, read_json_capped
from loralab.runs.run_config import find_code_keys
from loralab.terminal_text import escaped

CONFIG_LIMIT = 1 << 20  # a BERT config is under 1 KB
PARAMETER_LIMIT = 1_500_000_000  # BERT-large has 340 M; a bound on what a config may ask to allocate

# Keys that make transformers import, fetch or pick code (anywhere in the file); refused by name.
CODE_KEYS = (
    "auto_map",
    "trust_remote_code",
    "custom_pipelines",
    "quantization_config",
    "_target_",
    "use_kernels",
    "kernel_config",
)
CODE_KEY_PARTS = ("attn_implementation", "experts_implementation", "kernel")  # _attn_implementation, ...
ACTIVATIONS = (
    "gelu",
    "gelu_new",
    "gelu_fast",
    "gelu_python",
    "gelu_pytorch_tanh",
    "quick_gelu",
    "relu",
    "silu",
    "swish",
    "tanh",
)


def _integer(low: int, high: int) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            return f"must be an integer from {low} to {high}"
        return None

    return check


def _fraction(low: float, high: float) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return f"must be a number from {low} to {high}"
        return None if low <= value <= high else f"must be a number from {low} to {high}"

    check.as_float = True  # the config classes type these float: a 0 in the file is kept as 0.0
    return check


def _optional(check: Callable[[Any], str | None]) -> Callable[[Any], str | None]:
    return lambda value: None if value is None else check(value)


def _boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


def _one_of(choices: tuple) -> Callable[[Any], str | None]:
    return lambda value: None if value in choices else f"must be one of {', '.join(choices)}"


VOCABULARY = _integer(1, 1_000_000)
WIDTH = _integer(1, 16_384)
LAYERS = _integer(1, 128)
HEADS = _integer(1, 256)
POSITIONS = _integer(1, 16_384)
DROPOUT = _fraction(0.0, 1.0)
TOKEN_ID = _optional(_integer(0, 999_999))


@dataclass(frozen=True)
class Family:
    """One model type: its config class, the keys kept with their checks, and which keys are sizes."""

    config_class: str  # in transformers
    tokenizer_class: str  # rebuilt from the run's vocabulary (runs/run_tokenizer.py)
    modeling_module: str  # its standard model classes: what ``architectures`` may name
    keys: dict[str, Callable[[Any], str | None]]
    width: str  # key of the hidden size, which the head count must divide
    heads: str
    vocabulary: str = "vocab_size"
    positions: str = "max_position_embeddings"
    positions_after_padding: bool = False  # RoBERTa numbers positions from pad_token_id + 1


BERT_KEYS = {
    "vocab_size": VOCABULARY,
    "hidden_size": WIDTH,
    "num_hidden_layers": LAYERS,
    "num_attention_heads": HEADS,
    "intermediate_size": _integer(1, 65_536),
    "hidden_act": _one_of(ACTIVATIONS),
    "hidden_dropout_prob": DROPOUT,
    "attention_probs_dropout_prob": DROPOUT,
    "classifier_dropout": _optional(DROPOUT),
    "max_position_embeddings": POSITIONS,
    "type_vocab_size": _integer(1, 64),
    "initializer_range": _fraction(0.0, 1.0),
    "layer_norm_eps": _fraction(0.0, 1.0),
    "pad_token_id": TOKEN_ID,
    "is_decoder": _boolean,
    "add_cross_attention": _boolean,
}

FAMILIES = {
    "bert": Family(
        "BertConfig",
        "BertTokenizer",
        "transformers.models.bert.modeling_bert",
        BERT_KEYS,
        width="hidden_size",
        heads="num_attention_heads",
    ),
    "roberta": Family(
        "RobertaConfig",
        "RobertaTokenizer",
        "transformers.models.roberta.modeling_roberta",
        {**BERT_KEYS, "bos_token_id": TOKEN_ID, "eos_token_id": TOKEN_ID},
        width="hidden_size",
        heads="num_attention_heads",
        positions_after_padding=True,
    ),
    "distilbert": Family(
        "DistilBertConfig",
        "DistilBertTokenizer",
        "transformers.models.distilbert.modeling_distilbert",
        {
            "vocab_size": VOCABULARY,
            "dim": WIDTH,
            "n_layers": LAYERS,
            "n_heads": HEADS,
            "hidden_dim": _integer(1, 65_536),
            "activation": _one_of(ACTIVATIONS),
            "dropout": DROPOUT,
            "attention_dropout": DROPOUT,
            "qa_dropout": DROPOUT,
            "seq_classif_dropout": DROPOUT,
            "max_position_embeddings": POSITIONS,
            "sinusoidal_pos_embds": _boolean,
            "initializer_range": _fraction(0.0, 1.0),
            "pad_token_id": TOKEN_ID,
        },
        width="dim",
        heads="n_heads",
    ),
}


@dataclass(frozen=True)
class BackboneConfig:
    """What ``config.json`` may say, checked: the model type and the kept settings."""

    path: Path
    model_type: str
    settings: dict[str, Any]

    @property
    def family(self) -> Family:
        return FAMILIES[self.model_type]

    @property
    def vocab_size(self) -> int:
        return self.settings.get(self.family.vocabulary, 30522)

    @property
    def usable_positions(self) -> int:
        """How many tokens an input may have: the position table, less RoBERTa's offset."""
        positions = self.settings.get(self.family.positions, 512)
        if self.family.positions_after_padding:
            positions -= (self.settings.get("pad_token_id", 1) or 0) + 1  # RobertaConfig's pad is 1
        return max(positions, 1)

    def build(self, num_classes: int) -> Any:
        """The family's own config class, from the kept settings only."""
        import transformers
        from huggingface_hub.errors import StrictDataclassError

        config_class = getattr(transformers, self.family.config_class)
        try:
            return config_class(**self.settings, num_labels=num_classes)
        except (TypeError, ValueError, StrictDataclassError) as error:  # the strict dataclass's own checks
            raise self._fail("(settings)", f"are refused by {self.family.config_class} ({escaped(error)})") from None

    def _fail(self, key: str, problem: str) -> RunFolderError:
        return _fail(self.path, key, problem)


def _fail(path: Path, key: str, problem: str) -> RunFolderError:
    return RunFolderError(f"{escaped(path)}: key {escaped(key)} {problem}; the backbone config is damaged or crafted")


def _selects_code(key: Any, item: Any) -> bool:
    """A key that selects code or a kernel (``auto_map``, ``_attn_implementation``...); transformers
    4.4x's boolean ``_attn_implementation_autoset`` selects nothing."""
    lowered = str(key).lower()
    if lowered == "_attn_implementation_autoset" and isinstance(item, bool):
        return False
    return key in CODE_KEYS or any(part in lowered for part in CODE_KEY_PARTS)


def _standard_classes(family: Family) -> set[str]:
    import importlib

    return set(getattr(importlib.import_module(family.modeling_module), "__all__", ()))


def read_backbone_config(path: str | Path) -> BackboneConfig:
    """``config.json`` of a backbone folder, checked key by key; each failure names the file and key."""
    path = Path(path)
    config = read_json_capped(path, CONFIG_LIMIT)
    if not isinstance(config, dict):
        raise _fail(path, "(top level)", "must be an object")
    code = find_code_keys(config, is_code_key=_selects_code)
    if code:
        raise _fail(
            path,
            code,
            "would select code, a kernel or a quantizer; a run's backbone config holds architecture sizes only, and "
            "attention and dtype come from run_config.json",
        )
    model_type = config.get("model_type")
    if model_type not in FAMILIES:
        raise _fail(
            path,
            "model_type",
            f"is {escaped(repr(model_type))}, not one of the model types loralab opens ({', '.join(FAMILIES)})",
        )
    family = FAMILIES[model_type]
    architectures = config.get("architectures")
    if architectures is not None:
        standard = _standard_classes(family)
        if not isinstance(architectures, list) or not all(isinstance(name, str) for name in architectures):
            raise _fail(path, "architectures", "must be a list of class names")
        other = [name for name in architectures if name not in standard]
        if other:
            raise _fail(path, "architectures", f"names {escaped(other[0])}, not a {model_type} class of transformers")
    settings = {}
    for key, check in family.keys.items():
        if key in config:
            problem = check(config[key])
            if problem:
                raise _fail(path, key, f"is {escaped(repr(config[key]))[:80]}: it {problem}")
            value = config[key]
            settings[key] = float(value) if getattr(check, "as_float", False) and value is not None else value
    backbone = BackboneConfig(path, model_type, settings)
    width, heads = settings.get(family.width, 768), settings.get(family.heads, 12)
    if width % heads:
        raise _fail(path, family.heads, f"is {heads}, which does not divide {family.width} {width}")
    pad = settings.get("pad_token_id")
    if pad is not None and pad >= backbone.vocab_size:
        raise _fail(path, "pad_token_id", f"is {pad}, outside the vocabulary of {backbone.vocab_size}")
    return backbone
