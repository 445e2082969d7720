"""A transformer run's tokenizer, rebuilt from its vocabulary by the class of the model type.

A ``tokenizer.json`` is a pipeline the tokenizers library runs as written: a chain of ``Replace``
normalizers can grow a short text until memory runs out, and ``tokenizer_class`` picks which class
reads the folder. Two ways out were open: accept ``tokenizer.json`` with an allow-list of component
types and bounded growth, or rebuild. Rebuilding is chosen: each model type loralab opens has one
tokenizer (BERT and DistilBERT: WordPiece behind ``BertNormalizer`` and ``BertPreTokenizer``;
RoBERTa: byte-level BPE), so the folder contributes only data, a vocabulary (and merges) and a few
checked flags, and the pipeline that runs is the one transformers' own class for the model type
builds in code, whose growth is fixed. No component list has to be kept in step with the
tokenizers library.

The vocabulary comes from ``tokenizer.json`` (what transformers 5 saves), or ``vocab.txt`` for
WordPiece. A ``tokenizer.json`` is read as JSON only; its pipeline must be the one the rebuilt class
runs (each other component is refused by key), so a run opens with the tokenization it was trained
with, or not at all. ``tokenizer_config.json`` values are type-checked: lengths positive integers,
special tokens strings of the vocabulary.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loralab.data import PretrainedTokenizer
from loralab.files.safe_paths import RunFolderError, read_json_capped, read_text_capped
from loralab.runs.backbone_config import BackboneConfig
from loralab.runs.run_config import find_code_keys
from loralab.terminal_text import escaped

TOKENIZER_CONFIG = "tokenizer_config.json"
TOKENIZER_JSON = "tokenizer.json"
VOCAB_TXT = "vocab.txt"
SPECIAL_TOKENS_MAP = "special_tokens_map.json"
SETTINGS_LIMIT = 1 << 20
VOCABULARY_LIMIT = 32 << 20  # bert-base-multilingual's tokenizer.json is 3 MB
VOCABULARY_SIZE = 1_000_000
TOKEN_LENGTH = 200
LENGTH_LIMIT = 1 << 100  # transformers writes 1e30 for "no limit"
BERT_SPECIAL_TOKENS = {
    "unk_token": "[UNK]",
    "sep_token": "[SEP]",
    "pad_token": "[PAD]",
    "cls_token": "[CLS]",
    "mask_token": "[MASK]",
}
ROBERTA_SPECIAL_TOKENS = {
    "bos_token": "<s>",
    "eos_token": "</s>",
    "unk_token": "<unk>",
    "sep_token": "</s>",
    "pad_token": "<pad>",
    "cls_token": "<s>",
    "mask_token": "<mask>",
}
WORDPIECE = {"type": "WordPiece", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100}
BPE = {
    "type": "BPE",
    "dropout": None,
    "continuing_subword_prefix": "",
    "end_of_word_suffix": "",
    "fuse_unk": False,
    "byte_fallback": False,
    "ignore_merges": False,
    "unk_token": None,
}


def _fail(path: Path, key: str, problem: str) -> RunFolderError:
    return RunFolderError(f"{escaped(path)}: key {escaped(key)} {problem}; the tokenizer files are damaged or crafted")


def _read_json(path: Path, limit: int) -> Any:
    value = read_json_capped(path, limit)
    if not isinstance(value, dict):
        raise _fail(path, "(top level)", "must be an object")
    code = find_code_keys(value)
    if code:
        raise _fail(path, code, "would select code to run; a run's tokenizer is rebuilt from its vocabulary only")
    return value


def _token(path: Path, key: str, value: Any) -> str:
    if isinstance(value, dict):  # transformers 4 wrote AddedToken objects
        value = value.get("content")
    if not isinstance(value, str) or not 0 < len(value) <= TOKEN_LENGTH:
        raise _fail(
            path, key, f"is {escaped(repr(value))[:80]}, not a token (a string of 1 to {TOKEN_LENGTH} characters)"
        )
    return value


def _flag(path: Path, config: dict, key: str, default: Any, optional: bool = False) -> Any:
    value = config.get(key, default)
    if not (isinstance(value, bool) or (optional and value is None)):
        raise _fail(path, key, f"is {escaped(repr(value))[:80]}, not true or false")
    return value


@dataclass(frozen=True)
class TokenizerKind:
    """What a model type's tokenizer reads: its special tokens and flags (with their defaults) and
    the reader of its ``tokenizer.json`` pipeline."""

    special_tokens: dict[str, str]
    flags: dict[str, Any]  # tokenizer_config.json flags the class takes; None: true, false or null
    pipeline: Callable[[Path, dict, dict], tuple[dict[str, int], dict]]  # -> vocabulary, class arguments
    reads_vocab_txt: bool


def read_tokenizer_config(path: Path, kind: TokenizerKind) -> dict:
    """The settings of ``tokenizer_config.json`` that the rebuilt tokenizer uses, each checked."""
    config = _read_json(path, SETTINGS_LIMIT)
    length = config.get("model_max_length", LENGTH_LIMIT)
    if isinstance(length, float) and length.is_integer() and length >= 1:  # 1e30 written as a float
        length = min(int(length), LENGTH_LIMIT)
    if isinstance(length, bool) or not isinstance(length, int) or not 1 <= length <= LENGTH_LIMIT:
        raise _fail(path, "model_max_length", f"is {escaped(repr(length))[:80]}, not a positive integer")
    if "tokenizer_class" in config and not isinstance(config["tokenizer_class"], str):
        raise _fail(path, "tokenizer_class", "must be a class name (it is not used: the model type picks the class)")
    settings = {"model_max_length": length}
    for key, default in kind.flags.items():
        settings[key] = _flag(path, config, key, default, optional=default is None)
    for key, default in kind.special_tokens.items():
        settings[key] = _token(path, key, config.get(key, default))
    return settings


def read_vocab_txt(path: Path) -> dict[str, int]:
    lines = read_text_capped(path, VOCABULARY_LIMIT).split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not 0 < len(lines) <= VOCABULARY_SIZE:
        raise _fail(path, "(lines)", f"holds {len(lines)} tokens, not 1 to {VOCABULARY_SIZE}")
    vocab: dict[str, int] = {}
    for index, token in enumerate(lines):
        vocab.setdefault(token, index)
    if len(vocab) != len(lines):
        raise _fail(path, "(lines)", "holds a token twice")
    return vocab


def _expect(path: Path, value: Any, key: str, expected: dict) -> None:
    if not isinstance(value, dict):
        raise _fail(path, key, "must be an object")
    for name, wanted in expected.items():
        if value.get(name, wanted) != wanted:
            raise _fail(
                path,
                f"{key}.{name}",
                f"is {escaped(repr(value.get(name)))[:80]}, but this model type's tokenizer has {wanted!r} "
                "(the rebuilt tokenizer would not tokenize as the run was trained)",
            )


def _vocabulary(path: Path, model: dict) -> dict[str, int]:
    vocab = model.get("vocab")
    if not isinstance(vocab, dict) or not 0 < len(vocab) <= VOCABULARY_SIZE:
        raise _fail(path, "model.vocab", f"must map 1 to {VOCABULARY_SIZE} tokens to ids")
    ids = list(vocab.values())
    if any(isinstance(i, bool) or not isinstance(i, int) for i in ids) or sorted(ids) != list(range(len(vocab))):
        raise _fail(path, "model.vocab", "must number its tokens 0, 1, 2... each once")
    return vocab


def _wordpiece(path: Path, data: dict, settings: dict) -> tuple[dict[str, int], dict]:
    """BERT's pipeline; the normalizer's flags are taken into ``settings`` (they ran in training)."""
    model = data.get("model")
    _expect(path, model, "model", WORDPIECE)
    vocab = _vocabulary(path, model)
    if model.get("unk_token", settings["unk_token"]) != settings["unk_token"]:
        raise _fail(
            path, "model.unk_token", f"is not the unk_token {escaped(settings['unk_token'])} of {TOKENIZER_CONFIG}"
        )
    normalizer = data.get("normalizer")
    if normalizer is None:
        raise _fail(path, "normalizer", "is null, but a BERT-family tokenizer normalizes (BertNormalizer)")
    _expect(path, normalizer, "normalizer", {"type": "BertNormalizer", "clean_text": True})
    for key, name in (("lowercase", "do_lower_case"), ("handle_chinese_chars", "tokenize_chinese_chars")):
        settings[name] = _flag(path, normalizer, key, settings[name])
    settings["strip_accents"] = _flag(path, normalizer, "strip_accents", None, optional=True)
    _expect(path, data.get("pre_tokenizer"), "pre_tokenizer", {"type": "BertPreTokenizer"})
    if data.get("decoder") is not None:
        _expect(path, data["decoder"], "decoder", {"type": "WordPiece", "prefix": "##"})
    processor = data.get("post_processor")
    _expect(path, processor, "post_processor", {"type": "TemplateProcessing"})
    single = [
        {"SpecialToken": {"id": settings["cls_token"], "type_id": 0}},
        {"Sequence": {"id": "A", "type_id": 0}},
        {"SpecialToken": {"id": settings["sep_token"], "type_id": 0}},
    ]
    if processor.get("single") != single:
        raise _fail(path, "post_processor.single", "must be [CLS] $A [SEP] with the tokenizer's own special tokens")
    return vocab, {}


def _merges(path: Path, merges: Any) -> list[tuple[str, str]]:
    if not isinstance(merges, list) or len(merges) > VOCABULARY_SIZE:
        raise _fail(path, "model.merges", f"must be a list of at most {VOCABULARY_SIZE} merges")
    pairs = []
    for index, merge in enumerate(merges):
        pair = merge.split(" ") if isinstance(merge, str) else merge
        if not isinstance(pair, list) or len(pair) != 2 or not all(isinstance(part, str) and part for part in pair):
            raise _fail(path, f"model.merges[{index}]", "must be two tokens")
        pairs.append((pair[0], pair[1]))
    return pairs


def _byte_level_bpe(path: Path, data: dict, settings: dict) -> tuple[dict[str, int], dict]:
    """RoBERTa's pipeline: byte-level BPE, no normalizer, ``<s> $A </s>``."""
    model = data.get("model")
    _expect(path, model, "model", BPE)
    vocab = _vocabulary(path, model)
    merges = _merges(path, model.get("merges"))
    if data.get("normalizer") is not None:
        raise _fail(path, "normalizer", "must be null: RoBERTa's tokenizer does not normalize")
    pre = data.get("pre_tokenizer")
    _expect(path, pre, "pre_tokenizer", {"type": "ByteLevel", "use_regex": True})
    settings["add_prefix_space"] = _flag(path, pre, "add_prefix_space", settings["add_prefix_space"])
    if data.get("decoder") is not None:
        _expect(path, data["decoder"], "decoder", {"type": "ByteLevel"})
    processor = data.get("post_processor")
    _expect(path, processor, "post_processor", {"type": "RobertaProcessing"})
    settings["trim_offsets"] = _flag(path, processor, "trim_offsets", settings["trim_offsets"])
    for key, token in (("cls", settings["cls_token"]), ("sep", settings["sep_token"])):
        if processor.get(key) != [token, vocab.get(token)]:
            raise _fail(path, f"post_processor.{key}", f"must be [{escaped(token)!r}, its vocabulary id]")
    return vocab, {"merges": merges}


BERT = TokenizerKind(
    BERT_SPECIAL_TOKENS,
    {"do_lower_case": True, "strip_accents": None, "tokenize_chinese_chars": True},
    _wordpiece,
    reads_vocab_txt=True,
)
ROBERTA = TokenizerKind(
    ROBERTA_SPECIAL_TOKENS, {"add_prefix_space": False, "trim_offsets": True}, _byte_level_bpe, reads_vocab_txt=False
)
KINDS = {"BertTokenizer": BERT, "DistilBertTokenizer": BERT, "RobertaTokenizer": ROBERTA}


def _check_added_tokens(path: Path, added: Any, vocab: dict[str, int], specials: set[str]) -> None:
    """Added tokens are matched before the pipeline runs: only the special tokens, with their own ids."""
    if not isinstance(added, list):
        raise _fail(path, "added_tokens", "must be a list")
    for index, token in enumerate(added):
        content = token.get("content") if isinstance(token, dict) else None
        if content not in specials or token.get("id") != vocab.get(content) or token.get("special") is not True:
            raise _fail(
                path,
                f"added_tokens[{index}]",
                f"is {escaped(repr(content))[:80]}: only the special tokens of {TOKENIZER_CONFIG}, with their "
                "vocabulary ids, may be added tokens",
            )


def check_tokenizer_settings(folder: Path) -> None:
    """The run's own tokenizer settings, refused by key when they would select code, before the
    backbone is looked for (a moved run names its own crafted file first)."""
    for name in (TOKENIZER_CONFIG, SPECIAL_TOKENS_MAP):
        if name == TOKENIZER_CONFIG or (folder / name).exists():
            _read_json(folder / name, SETTINGS_LIMIT)


def open_run_tokenizer(folder: Path, backbone: BackboneConfig, max_length: int | None) -> Any:
    """The run's tokenizer (a :class:`loralab.data.PretrainedTokenizer`), rebuilt by the class of
    the backbone's model type from the folder's checked vocabulary and settings."""
    import transformers

    kind = KINDS[backbone.family.tokenizer_class]
    config_path = folder / TOKENIZER_CONFIG
    settings = read_tokenizer_config(config_path, kind)
    if (folder / SPECIAL_TOKENS_MAP).exists():  # transformers 4 kept the special tokens here too
        specials = _read_json(folder / SPECIAL_TOKENS_MAP, SETTINGS_LIMIT)
        for key in kind.special_tokens:
            if key in specials:
                settings[key] = _token(folder / SPECIAL_TOKENS_MAP, key, specials[key])
    added: Any = []
    if (folder / TOKENIZER_JSON).exists():
        vocabulary_path = folder / TOKENIZER_JSON
        data = _read_json(vocabulary_path, VOCABULARY_LIMIT)
        vocab, arguments = kind.pipeline(vocabulary_path, data, settings)
        added = data.get("added_tokens") or []
    elif kind.reads_vocab_txt and (folder / VOCAB_TXT).exists():
        vocabulary_path = folder / VOCAB_TXT
        vocab, arguments = read_vocab_txt(vocabulary_path), {}
    else:
        raise FileNotFoundError(f"{escaped(folder)} has no {TOKENIZER_JSON}; the run folder is incomplete")
    for key, default in kind.special_tokens.items():
        if settings[key] not in vocab:
            source = config_path if settings[key] != default else vocabulary_path
            raise _fail(
                source, key, f"is {escaped(settings[key])}, which is not in the vocabulary of {vocabulary_path.name}"
            )
    _check_added_tokens(vocabulary_path, added, vocab, {settings[key] for key in kind.special_tokens})
    if len(vocab) > backbone.vocab_size:
        raise _fail(
            vocabulary_path,
            "model.vocab" if vocabulary_path.name == TOKENIZER_JSON else "(lines)",
            f"has {len(vocab)} tokens, more than the backbone's vocab_size {backbone.vocab_size}",
        )
    tokenizer_class = getattr(transformers, backbone.family.tokenizer_class)
    length = settings.pop("model_max_length")
    tokenizer = tokenizer_class(vocab=vocab, model_max_length=length, **arguments, **settings)
    opened = PretrainedTokenizer.wrapping(tokenizer, str(folder), max_length)
    opened.max_length = min(opened.max_length, backbone.usable_positions)  # longer inputs have no position
    return opened
