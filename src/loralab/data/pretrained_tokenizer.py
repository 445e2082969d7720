"""A pretrained model's own tokenizer (``AutoTokenizer``), behind the DataModule's tokenizer interface."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from loralab.data.text_split import TextSplit
from loralab.models.hf_loading import load_from_hub_or_folder

TOKENIZER_DIR = "tokenizer"


class PretrainedTokenizer:
    """Wordpieces as the backbone was trained on them, ``[CLS] ... [SEP]``, cut at ``max_length``
    tokens by the tokenizer itself so the closing special token survives."""

    def __init__(self, name_or_path: str, max_length: int | None = 512, trust_remote_code: bool = False) -> None:
        from transformers import AutoTokenizer

        tokenizer = load_from_hub_or_folder(
            str(name_or_path),
            "tokenizer",
            lambda n: AutoTokenizer.from_pretrained(n, trust_remote_code=trust_remote_code),
        )
        self._take(tokenizer, str(name_or_path), max_length)

    @classmethod
    def wrapping(cls, tokenizer, name: str, max_length: int | None = 512) -> PretrainedTokenizer:
        """A tokenizer built elsewhere (a run folder's, rebuilt from its checked vocabulary)."""
        self = cls.__new__(cls)
        self._take(tokenizer, name, max_length)
        return self

    def _take(self, tokenizer, name: str, max_length: int | None) -> None:
        self.name_or_path = name
        self.tokenizer = tokenizer
        limit = min(self.tokenizer.model_max_length, 512)  # transformers says 1e30 when it does not know
        self.max_length = min(max_length or limit, limit)
        if self.tokenizer.pad_token_id is None:
            raise ValueError(f"tokenizer {self.name_or_path} has no padding token; pick a backbone with one")

    def fit(self, train: TextSplit, cache_dir: str | Path) -> None:
        """Nothing to learn: the vocabulary came with the backbone."""

    def encode(self, texts: list[str]) -> list[list[int]]:
        if not texts:  # an empty split (data.val_fraction=0): transformers 5 raises on []
            return []
        return self.tokenizer(texts, truncation=True, max_length=self.max_length)["input_ids"]

    def fingerprint(self) -> str:
        backend = (
            self.tokenizer.backend_tokenizer.to_str()
            if self.tokenizer.is_fast
            else json.dumps(self.tokenizer.get_vocab(), sort_keys=True)
        )
        return hashlib.sha256(f"{backend}|max_length={self.max_length}".encode()).hexdigest()

    def save(self, folder: str | Path) -> Path:
        target = Path(folder) / TOKENIZER_DIR
        self.tokenizer.save_pretrained(target)
        return target

    @property
    def pad_id(self) -> int:
        return self.tokenizer.pad_token_id
