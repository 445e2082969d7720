"""A word-level vocabulary for the TextClassifier, trained with the Hugging Face ``tokenizers`` library."""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from pathlib import Path

from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, trainers

from loralab.atomic_files import atomic_write_text
from loralab.data.sources import load_raw_data
from loralab.data.text_split import TextSplit
from loralab.files.run_files import VOCAB_FILE, find_run_file
from loralab.files.safe_paths import VOCABULARY_LIMIT, RunFolderError, read_text_capped
from loralab.terminal_text import escaped

log = logging.getLogger(__name__)

PAD_TOKEN = "<pad>"
UNK_TOKEN = "<unk>"


def _new_tokenizer() -> Tokenizer:
    tokenizer = Tokenizer(models.WordLevel(unk_token=UNK_TOKEN))
    # IMDb reviews carry HTML line breaks; they are markup, not words.
    tokenizer.normalizer = normalizers.Sequence(
        [normalizers.Replace(Regex(r"<br\s*/?>"), " "), normalizers.Lowercase()]
    )
    # Splits on whitespace and between word characters and punctuation ("movie!" -> "movie", "!").
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    return tokenizer


def _tokenizer_from_vocabulary(path: Path) -> Tokenizer:
    """``_vocabulary_tokenizer`` of ``path``, read once per process while the file is unchanged (the
    jobs of a multirun share one base's vocabulary); nothing changes a Tokenizer once built."""
    stat = path.stat()
    return _vocabulary_tokenizer(path.resolve(), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=4)
def _vocabulary_tokenizer(path: Path, size: int, mtime_ns: int) -> Tokenizer:
    """The tokenizer of a saved ``vocab.json``, rebuilt from its word list alone: the file is a
    whole ``tokenizers`` pipeline, and one from a handed-over folder could chain normalizers that
    grow a text until memory runs out. Only the words and their ids are taken from it."""

    def damaged(problem: str) -> RunFolderError:
        return RunFolderError(f"{escaped(path)}: {problem}; the vocabulary is damaged or not loralab's")

    try:
        saved = json.loads(read_text_capped(path, VOCABULARY_LIMIT))
        kind, vocab = saved["model"]["type"], saved["model"]["vocab"]
    except (json.JSONDecodeError, KeyError, TypeError):
        raise damaged("not a saved word vocabulary (model.type and model.vocab)") from None
    if kind != "WordLevel" or not isinstance(vocab, dict):
        raise damaged(f"model.type is {escaped(repr(kind))[:60]}, not a WordLevel vocabulary")
    ids = sorted(vocab.values()) if all(type(i) is int for i in vocab.values()) else None
    if ids != list(range(len(vocab))) or vocab.get(PAD_TOKEN) != 0 or vocab.get(UNK_TOKEN) != 1:
        raise damaged(f"model.vocab must number its words 0..n-1 with {PAD_TOKEN} = 0 and {UNK_TOKEN} = 1")
    tokenizer = _new_tokenizer()
    tokenizer.model = models.WordLevel(vocab, unk_token=UNK_TOKEN)
    tokenizer.add_special_tokens([PAD_TOKEN, UNK_TOKEN])
    return tokenizer


@functools.lru_cache(maxsize=4)
def _cached_tokenizer(path: Path, size: int, mtime_ns: int) -> Tokenizer:
    """A vocabulary of loralab's own cache, read once per process while the file is unchanged."""
    return Tokenizer.from_file(str(path))


@functools.lru_cache(maxsize=4)
def _tokenizer_sha256(tokenizer: Tokenizer) -> str:  # by identity: a cached Tokenizer is hashed once
    return hashlib.sha256(tokenizer.to_str().encode()).hexdigest()


@functools.lru_cache(maxsize=4)
def _tokenizer_vocab(tokenizer: Tokenizer) -> dict[str, int]:  # copied by its callers: shared between jobs
    return tokenizer.get_vocab()


class WordTokenizer:
    """Lowercased words and punctuation, ``<pad>`` = 0, ``<unk>`` = 1.

    The vocabulary is learnt from the training split (``fit``), plus the training texts of the
    ``vocab_corpora`` (labels unused: only which words get a row), or read from ``vocab_path`` (a
    ``vocab.json``, or the run folder holding one) so that a later run reuses the exact same ids.
    """

    def __init__(
        self,
        min_frequency: int = 2,
        max_size: int | None = 30_000,
        vocab_path: str | Path | None = None,
        vocab_corpora: list[dict] | None = None,
    ) -> None:
        self.min_frequency = min_frequency
        self.max_size = max_size
        self.vocab_corpora = [dict(c) for c in vocab_corpora or []]
        self._tokenizer: Tokenizer | None = None
        self.vocab_path = find_run_file(vocab_path, VOCAB_FILE) if vocab_path else None
        if self.vocab_path is not None:
            self._tokenizer = _tokenizer_from_vocabulary(self.vocab_path)

    @property
    def tokenizer(self) -> Tokenizer:
        if self._tokenizer is None:
            raise RuntimeError("WordTokenizer has no vocabulary yet; call fit() first")
        return self._tokenizer

    def fit(self, train: TextSplit, cache_dir: str | Path) -> None:
        """Learn the vocabulary (cached by the texts and the settings), unless ``vocab_path`` gave one."""
        if self.vocab_path is not None:
            return
        corpora = [train] + [load_raw_data(**corpus).train for corpus in self.vocab_corpora]
        settings = json.dumps({"min_frequency": self.min_frequency, "max_size": self.max_size, "version": 1})
        fingerprints = "".join(corpus.fingerprint() for corpus in corpora)
        key = hashlib.sha256((fingerprints + settings).encode()).hexdigest()[:32]
        cached = Path(cache_dir) / "vocab" / f"{key}.json"
        if cached.is_file():
            stat = cached.stat()
            self._tokenizer = _cached_tokenizer(cached.resolve(), stat.st_size, stat.st_mtime_ns)
            return
        tokenizer = _new_tokenizer()
        trainer = trainers.WordLevelTrainer(
            vocab_size=self.max_size or 10**9,
            min_frequency=self.min_frequency,
            special_tokens=[PAD_TOKEN, UNK_TOKEN],
            show_progress=False,
        )
        texts = [text for corpus in corpora for text in corpus.texts]
        tokenizer.train_from_iterator(texts, trainer=trainer)
        self._tokenizer = tokenizer
        atomic_write_text(cached, tokenizer.to_str())
        log.info("vocabulary: %d words from %d texts", tokenizer.get_vocab_size(), len(texts))

    def save(self, folder: str | Path) -> Path:
        return atomic_write_text(Path(folder) / VOCAB_FILE, self.tokenizer.to_str())

    def fingerprint(self) -> str:
        return _tokenizer_sha256(self.tokenizer)

    def encode(self, texts: list[str]) -> list[list[int]]:
        # encode_batch_fast skips character offsets, which nothing here reads, and is faster for it.
        encode_batch = getattr(self.tokenizer, "encode_batch_fast", self.tokenizer.encode_batch)
        return [encoding.ids for encoding in encode_batch(texts, add_special_tokens=False)]

    @property
    def pad_id(self) -> int:
        return self.tokenizer.token_to_id(PAD_TOKEN)

    @property
    def vocab(self) -> dict[str, int]:
        return dict(_tokenizer_vocab(self.tokenizer))
