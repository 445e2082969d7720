"""Shared fixtures: tiny data sets on disk and the real Hydra config composed with overrides."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf, open_dict

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = PROJECT_ROOT / "conf"
REAL_DATA_DIR = os.environ.get("LORALAB_DATA_DIR")

POSITIVE = ["great", "wonderful", "loved", "superb", "brilliant", "moving"]
NEGATIVE = ["awful", "boring", "hated", "dull", "terrible", "waste"]
FILLER = ["the", "movie", "film", "plot", "actors", "story", "was", "and", "a", "it"]


@pytest.fixture(autouse=True)
def _offline(monkeypatch, tmp_path):
    """Nothing in the tests may reach the network; each test gets its own cache."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    # huggingface_hub reads the variable once, at import, which collection has already done: without
    # this, a Hub id went to the network and waited 46 s for its retries to time out.
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    monkeypatch.setenv("LORALAB_CACHE_DIR", str(tmp_path / "cache"))


def sentiment_rows(n: int, seed: int) -> dict[str, list]:
    """Reviews whose label is given by which word list they draw from: learnable in one epoch."""
    rng = random.Random(seed)
    texts, labels = [], []
    for i in range(n):
        label = i % 2
        words = rng.choices(FILLER, k=rng.randint(3, 12)) + rng.choices(POSITIVE if label else NEGATIVE, k=2)
        rng.shuffle(words)
        texts.append(" ".join(words).capitalize() + ".<br /><br />" + rng.choice(["Really!", "Yes."]))
        labels.append(label)
    return {"text": texts, "label": labels}


def write_parquet(path: Path, rows: dict[str, list]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(rows), path)
    return path


TOPICS = [
    ["election", "minister", "war"],
    ["match", "goal", "season"],
    ["shares", "profit", "market"],
    ["software", "chip", "space"],
]


def topic_rows(n: int, seed: int) -> dict[str, list]:
    """A 4-class stand-in for AG News: the label is the topic the key words come from."""
    rng = random.Random(seed)
    texts, labels = [], []
    for i in range(n):
        label = i % 4
        words = rng.choices(FILLER, k=rng.randint(3, 8)) + rng.choices(TOPICS[label], k=2)
        rng.shuffle(words)
        texts.append(" ".join(words))
        labels.append(label)
    return {"text": texts, "label": labels}


def write_tiny_data(root: Path) -> Path:
    """``<root>/imdb`` (200 train, 100 test reviews) and ``<root>/ag_news`` (200 train, 80 test)."""
    write_parquet(root / "imdb" / "train.parquet", sentiment_rows(200, seed=1))
    write_parquet(root / "imdb" / "test.parquet", sentiment_rows(100, seed=2))
    write_parquet(root / "ag_news" / "train.parquet", topic_rows(200, seed=3))
    write_parquet(root / "ag_news" / "test.parquet", topic_rows(80, seed=4))
    return root


@pytest.fixture
def tiny_data_dir(tmp_path) -> Path:
    return write_tiny_data(tmp_path / "data")


def compose_train_config(output_dir: Path, overrides: list[str]) -> DictConfig:
    """The config ``train.py`` would see, with Hydra's runtime set so ``${hydra:...}`` resolves."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(config_name="train", overrides=overrides, return_hydra_config=True)
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(output_dir)
    HydraConfig.instance().set_config(cfg)
    # What @hydra.main writes into every run folder, and eval.py / predict.py read back.
    (output_dir / ".hydra").mkdir(parents=True, exist_ok=True)
    OmegaConf.save(OmegaConf.create(list(overrides)), output_dir / ".hydra" / "overrides.yaml")
    return cfg


def quiet_run_overrides(data_dir: Path) -> list[str]:
    """Any model: two epochs on the tiny data, on the CPU, without progress output."""
    return [
        f"paths.data_dir={data_dir}",
        "trainer.max_epochs=2",
        "trainer.accelerator=cpu",
        "trainer.enable_progress_bar=false",
        "trainer.enable_model_summary=false",
        "trainer.log_every_n_steps=1",
        "callbacks.progress_bar=null",
        "data.batch_size=16",
    ]


def tiny_run_overrides(data_dir: Path) -> list[str]:
    """The TextClassifier made small: a few seconds per run on two CPU cores."""
    return quiet_run_overrides(data_dir) + [
        "model.tokenizer.min_frequency=1",
        "model.net.embed_dim=16",
        "model.net.hidden_dim=8",
        "optim.optimizer.lr=0.03",
    ]


def save_tiny_distilbert(folder: Path) -> Path:
    """A 2-layer, 32-wide DistilBERT with a WordPiece tokenizer over the tiny data's words, saved
    as a Hugging Face folder: loading it exercises the real ``from_pretrained`` path."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import (
        DistilBertConfig,
        DistilBertForSequenceClassification,
        PreTrainedTokenizerFast,
    )

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    words = sorted(
        set(POSITIVE + NEGATIVE + FILLER + [w for topic in TOPICS for w in topic] + ["really", "yes", "!", ".", ","])
    )
    vocab = {token: i for i, token in enumerate(specials + words)}
    backend = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    backend.normalizer = normalizers.BertNormalizer(lowercase=True)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])]
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=64,
    )
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    config = DistilBertConfig(
        vocab_size=len(vocab), dim=32, n_layers=2, n_heads=2, hidden_dim=64, max_position_embeddings=64
    )
    DistilBertForSequenceClassification(config).save_pretrained(folder)
    return folder
