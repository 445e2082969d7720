"""``model``: one class per model family, each with its tokenizer, network and optional LoRA.

The family is the class: ``conf/model/textclassifier.yaml`` composes :class:`TextClassifierModel`,
the transformer options compose :class:`TransformerModel`, and ``training/model_builders.py`` builds
each with loralab's own builders. ``net`` holds what rebuilds the network, which a finished run
records in ``run_config.json``; what only training needs (a base to start from, a GloVe file,
compiling) sits beside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from loralab.settings.checks import require, require_choice, require_fraction, require_int, require_text
from loralab.settings.lora import LoraSettings

WIDTH_LIMIT = 1 << 16  # embed_dim, hidden_dim: far above any TextClassifier, far below filling memory
# transformers' built-in attention; a Hub kernel name would download and run code.
ATTENTION = ("eager", "sdpa", "flash_attention_2", "flash_attention_3", "flex_attention")
DTYPES = ("float32", "bfloat16", "float16")


def _check_compile(settings: Any) -> None:
    ok = isinstance(settings.compile, (bool, dict))
    require(ok, settings, "compile", "use true, false or a mapping of torch.compile options")


@dataclass
class WordTokenizerSettings:
    """``model.tokenizer`` of the TextClassifier: a vocabulary learnt from the training texts."""

    config_key: ClassVar[str] = "model.tokenizer"

    min_frequency: int = 2
    max_size: int | None = 30_000
    vocab_path: str | None = None
    vocab_corpora: list[Any] | None = None

    def __post_init__(self) -> None:
        require_int(self, "min_frequency", 1)
        require_int(self, "max_size", 2, optional=True)
        require_text(self, "vocab_path", optional=True)
        corpora = self.vocab_corpora or []
        require(all(isinstance(c, dict) for c in corpora), self, "vocab_corpora", "give a list of data sources")


@dataclass
class TextClassifierNet:
    """``model.net``: the TextClassifier's sizes and pooling (its class count is ``data.num_classes``)."""

    config_key: ClassVar[str] = "model.net"

    embed_dim: int = 100
    hidden_dim: int = 128
    freeze_embeddings: bool = False
    word_dropout: float = 0.0
    count_each_word_once: bool = False

    def __post_init__(self) -> None:
        require_int(self, "embed_dim", 1, WIDTH_LIMIT)
        require_int(self, "hidden_dim", 1, WIDTH_LIMIT)
        require_fraction(self, "word_dropout")


@dataclass
class TextClassifierModel:
    """The lab's TextClassifier (``conf/model/textclassifier.yaml``), LoRA optional."""

    config_key: ClassVar[str] = "model"

    tokenizer: WordTokenizerSettings = field(default_factory=WordTokenizerSettings)
    freeze_embeddings: bool = False
    glove_path: str | None = None
    pretrained: str | None = None
    compile: Any = False
    net: TextClassifierNet = field(default_factory=TextClassifierNet)
    lora: LoraSettings | None = None

    def __post_init__(self) -> None:
        require_text(self, "glove_path", optional=True)
        require_text(self, "pretrained", optional=True)
        _check_compile(self)


@dataclass
class TransformerNet:
    """``model.net`` of a transformer: how its weights load and run (its sizes are the backbone's)."""

    config_key: ClassVar[str] = "model.net"

    attn_implementation: str | None = "sdpa"
    dtype: str = "float32"
    gradient_checkpointing: bool = False

    def __post_init__(self) -> None:
        if self.attn_implementation is not None:
            require_choice(self, "attn_implementation", ATTENTION)
        require_choice(self, "dtype", DTYPES)


@dataclass
class TransformerModel:
    """A Hugging Face encoder with a sequence-classification head (``conf/model/distilbert.yaml``
    and the options built on it), LoRA through PEFT optional. Its tokenizer is the backbone's own,
    cutting texts at ``data.max_length``; ``trust_remote_code`` serves both."""

    config_key: ClassVar[str] = "model"

    backbone: str = "distilbert-base-uncased"
    trust_remote_code: bool = False
    freeze_embeddings: bool = False
    compile: Any = False
    net: TransformerNet = field(default_factory=TransformerNet)
    lora: LoraSettings | None = None

    def __post_init__(self) -> None:
        require_text(self, "backbone")
        _check_compile(self)
