"""A transformer run's tokenizer, rebuilt from its vocabulary by the class of the model type.

A ``tokenizer.json`` is a pipeline the tokenizers library runs as written: a chain of ``Replace``
normalizers can grow a short text until memory runs out, and ``tokenizer_class`` picks which class
reads the folder. Two ways out were open: accept ``tokenizer.json`` with an allow-list of component
types and bounded growth, or rebuild. Rebuilding is chosen: the BERT family has one tokenizer
(WordPiece behind ``BertNormalizer`` and ``BertPreTokenizer``), so the folder contributes only
data, a vocabulary and a few checked settings, and the pipeline that runs is the one transformers'
``BertTokenizer`` builds in code, whose growth is fixed (spaces around CJK characters). No
component list has to be kept in step with the tokenizers library.

The vocabulary comes from ``tokenizer.json`` (what transformers 5 saves) or ``vocab.txt``. A
``tokenizer.json`` is read as JSON only; its pipeline must be the one the rebuilt class runs (each
other component is refused by key), so a run opens with the tokenization it was trained with, or
not at all. ``tokenizer_config.json`` values are type-checked: lengths positive integers, special
tokens strings of the vocabulary.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from loralab.runs.backbone_config import BackboneConfig
from loralab.runs.run_config import find_code_keys
from loralab.runs.safe_paths import RunFolderError, read_text_capped
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
SPECIAL_TOKENS = {
    "unk_token": "[UNK]",
    "sep_token": "[SEP]",
    "pad_token": "[PAD]",
    "cls_token": "[CLS]",
    "mask_token": "[MASK]",
}
WORDPIECE = {"type": "WordPiece", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100}


def _fail(path: Path, key: str, problem: str) -> RunFolderError:
    return RunFolderError(f"{escaped(path)}: key {escaped(key)} {problem}; the tokenizer files are damaged or crafted")


def _read_json(path: Path, limit: int) -> Any:
    try:
        value = json.loads(read_text_capped(path, limit))
    except (json.JSONDecodeError, RecursionError) as error:
        raise RunFolderError(f"{escaped(path)}: not readable JSON ({error}); the file is damaged") from None
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


def read_tokenizer_config(path: Path) -> dict:
    """The settings of ``tokenizer_config.json`` that the rebuilt tokenizer uses, each checked."""
    config = _read_json(path, SETTINGS_LIMIT)
    length = config.get("model_max_length", LENGTH_LIMIT)
    if isinstance(length, float) and length.is_integer() and length >= 1:  # 1e30 written as a float
        length = min(int(length), LENGTH_LIMIT)
    if isinstance(length, bool) or not isinstance(length, int) or not 1 <= length <= LENGTH_LIMIT:
        raise _fail(path, "model_max_length", f"is {escaped(repr(length))[:80]}, not a positive integer")
    if "tokenizer_class" in config and not isinstance(config["tokenizer_class"], str):
        raise _fail(path, "tokenizer_class", "must be a class name (it is not used: the model type picks the class)")
    settings = {
        "model_max_length": length,
        "do_lower_case": _flag(path, config, "do_lower_case", True),
        "strip_accents": _flag(path, config, "strip_accents", None, optional=True),
        "tokenize_chinese_chars": _flag(path, config, "tokenize_chinese_chars", True),
    }
    for key, default in SPECIAL_TOKENS.items():
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
        vocab.setdefault(token, index)  # BERT's own reader keeps the last; a duplicate is refused below
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
                f"is {escaped(repr(value.get(name)))[:80]}, but a BERT-family tokenizer has {wanted!r} "
                "(the rebuilt tokenizer would not tokenize as the run was trained)",
            )


def read_tokenizer_json(path: Path, settings: dict) -> tuple[dict[str, int], list[dict]]:
    """The vocabulary and added tokens of ``tokenizer.json``, once its pipeline is checked to be the
    BERT pipeline (normalizer flags are taken into ``settings``: they are what ran in training)."""
    data = _read_json(path, VOCABULARY_LIMIT)
    model = data.get("model")
    _expect(path, model, "model", WORDPIECE)
    vocab = model.get("vocab")
    if not isinstance(vocab, dict) or not 0 < len(vocab) <= VOCABULARY_SIZE:
        raise _fail(path, "model.vocab", f"must map 1 to {VOCABULARY_SIZE} tokens to ids")
    if sorted(vocab.values()) != list(range(len(vocab))) or any(isinstance(i, bool) for i in vocab.values()):
        raise _fail(path, "model.vocab", "must number its tokens 0, 1, 2... each once")
    if model.get("unk_token", settings["unk_token"]) != settings["unk_token"]:
        raise _fail(
            path, "model.unk_token", f"is not the unk_token {escaped(settings['unk_token'])} of {TOKENIZER_CONFIG}"
        )
    normalizer = data.get("normalizer")
    if normalizer is not None:
        _expect(path, normalizer, "normalizer", {"type": "BertNormalizer", "clean_text": True})
        for key, name in (("lowercase", "do_lower_case"), ("handle_chinese_chars", "tokenize_chinese_chars")):
            settings[name] = _flag(path, normalizer, key, settings[name])
        settings["strip_accents"] = _flag(path, normalizer, "strip_accents", None, optional=True)
    else:
        raise _fail(path, "normalizer", "is null, but a BERT-family tokenizer normalizes (BertNormalizer)")
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
    added = data.get("added_tokens") or []
    if not isinstance(added, list) or not all(isinstance(token, dict) for token in added):
        raise _fail(path, "added_tokens", "must be a list of objects")
    return vocab, added


def _check_added_tokens(path: Path, added: list[dict], vocab: dict[str, int], settings: dict) -> None:
    """Added tokens are matched before the pipeline runs: only the special tokens, with their own ids."""
    specials = {settings[key] for key in SPECIAL_TOKENS}
    for index, token in enumerate(added):
        content = token.get("content")
        if content not in specials or token.get("id") != vocab.get(content) or token.get("special") is not True:
            raise _fail(
                path,
                f"added_tokens[{index}]",
                f"is {escaped(repr(content))[:80]}: only the special tokens of {TOKENIZER_CONFIG}, with their "
                "vocabulary ids, may be added tokens",
            )


def open_run_tokenizer(folder: Path, backbone: BackboneConfig, max_length: int | None) -> Any:
    """The run's tokenizer (a :class:`loralab.data.PretrainedTokenizer`), rebuilt by the class of
    the backbone's model type from the folder's checked vocabulary and settings."""
    import transformers

    from loralab.data import PretrainedTokenizer

    config_path = folder / TOKENIZER_CONFIG
    settings = read_tokenizer_config(config_path)
    if (folder / SPECIAL_TOKENS_MAP).exists():  # transformers 4 kept the special tokens here too
        specials = _read_json(folder / SPECIAL_TOKENS_MAP, SETTINGS_LIMIT)
        for key in SPECIAL_TOKENS:
            if key in specials:
                settings[key] = _token(folder / SPECIAL_TOKENS_MAP, key, specials[key])
    added: list[dict] = []
    if (folder / TOKENIZER_JSON).exists():
        vocabulary_path = folder / TOKENIZER_JSON
        vocab, added = read_tokenizer_json(vocabulary_path, settings)
    elif (folder / VOCAB_TXT).exists():
        vocabulary_path = folder / VOCAB_TXT
        vocab = read_vocab_txt(vocabulary_path)
    else:
        raise FileNotFoundError(
            f"{escaped(folder)} has neither {TOKENIZER_JSON} nor {VOCAB_TXT}; the run folder is incomplete"
        )
    for key in SPECIAL_TOKENS:
        if settings[key] not in vocab:
            source = config_path if settings[key] != SPECIAL_TOKENS[key] else vocabulary_path
            raise _fail(
                source, key, f"is {escaped(settings[key])}, which is not in the vocabulary of {vocabulary_path.name}"
            )
    _check_added_tokens(vocabulary_path, added, vocab, settings)
    if len(vocab) > backbone.vocab_size:
        raise _fail(
            vocabulary_path,
            "model.vocab" if vocabulary_path.name == TOKENIZER_JSON else "(lines)",
            f"has {len(vocab)} tokens, more than the backbone's vocab_size {backbone.vocab_size}",
        )
    tokenizer_class = getattr(transformers, backbone.family.tokenizer_class)
    length = settings.pop("model_max_length")
    tokenizer = tokenizer_class(vocab=vocab, model_max_length=length, **settings)
    opened = PretrainedTokenizer.wrapping(tokenizer, str(folder), max_length)
    opened.max_length = min(opened.max_length, backbone.max_positions)  # longer inputs have no position
    return opened
