"""The benchmark's own model and data: IMDb reviews from parquet, a WordPiece vocabulary learnt on
them, a DistilBERT with random weights (weights do not change speed), so nothing is downloaded."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import torch
from step_timing import EncoderShape

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
LAB_MAX_LENGTH = 512  # the lab padded every review to the model's limit


def read_reviews(data_dir: str, limit: int | None) -> tuple[list[str], list[int]]:
    table = pq.read_table(Path(data_dir) / "imdb" / "train.parquet", columns=["text", "label"])
    if limit:
        table = table.slice(0, limit)
    return table.column("text").to_pylist(), table.column("label").to_pylist()


def write_imdb_folder(folder: Path, train: tuple[list[str], list[int]], test: tuple[list[str], list[int]]) -> Path:
    """``<folder>/imdb/{train,test}.parquet``, the layout that ``data=imdb paths.data_dir=<folder>`` reads."""
    (folder / "imdb").mkdir(parents=True, exist_ok=True)
    for split, (texts, labels) in (("train", train), ("test", test)):
        pq.write_table(pa.table({"text": texts, "label": labels}), folder / "imdb" / f"{split}.parquet")
    return folder


def train_wordpiece_tokenizer(texts: list[str], vocab_size: int):
    """A BERT-style uncased WordPiece tokenizer learnt from ``texts``, as transformers loads one."""
    from tokenizers import (
        Tokenizer,
        models,
        normalizers,
        pre_tokenizers,
        processors,
        trainers,
    )
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    backend.normalizer = normalizers.BertNormalizer(lowercase=True)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.train_from_iterator(texts, trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS))
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[(token, backend.token_to_id(token)) for token in ("[CLS]", "[SEP]")]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=LAB_MAX_LENGTH,
    )


def save_random_distilbert(folder: Path, vocab_size: int, pad_id: int, tiny: bool) -> EncoderShape:
    from transformers import DistilBertConfig, DistilBertForSequenceClassification

    size = {"dim": 64, "n_layers": 2, "n_heads": 2, "hidden_dim": 256} if tiny else {}  # else DistilBERT-base
    config = DistilBertConfig(vocab_size=vocab_size, pad_token_id=pad_id, **size)
    torch.manual_seed(0)
    model = DistilBertForSequenceClassification(config)
    model.save_pretrained(folder)
    base = model.base_model
    non_embedding = sum(p.numel() for p in base.parameters()) - sum(p.numel() for p in base.embeddings.parameters())
    return EncoderShape(non_embedding, config.num_hidden_layers, config.hidden_size)
