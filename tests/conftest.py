"""Shared fixtures: tiny data sets on disk and the real Hydra config composed with overrides."""

from __future__ import annotations

import io
import json
import os
import random
import resource
import shutil
import subprocess
import sys
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


# Opening run folders someone hands you: the entry points in subprocesses, bounded in time and memory.
CLI_MEMORY_LIMIT = 8 << 30  # address space: torch and transformers imported take about 3 GiB of it


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (CLI_MEMORY_LIMIT, CLI_MEMORY_LIMIT))


def run_entry_point(*args, stdin: str | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    """``python <script> <args>`` from the project root, offline, under ``CLI_MEMORY_LIMIT``."""
    return subprocess.run(
        [sys.executable, *map(str, args)],
        cwd=PROJECT_ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=_limit_memory,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(PROJECT_ROOT / "src")},
    )


def run_in_process(monkeypatch, capsys, script: str, *args, stdin: str = "") -> subprocess.CompletedProcess:
    """``python <script> <args>`` run in this process (the entry point's own function, errors
    through ``run_cli``): seconds faster than a subprocess, for what ends before any training."""
    from loralab import console_scripts

    entry_points = {
        "train.py": console_scripts.train,
        "eval.py": console_scripts.evaluate,
        "predict.py": console_scripts.predict,
        "export.py": console_scripts.export,
    }
    monkeypatch.setattr(sys, "argv", [script, *map(str, args)])
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    try:
        entry_points[script]()
        code = 0
    except SystemExit as stopped:
        code = stopped.code
    captured = capsys.readouterr()
    return subprocess.CompletedProcess([script, *args], code, captured.out, captured.err)


def copy_run(run: Path, to: Path) -> Path:
    shutil.copytree(run, to, symlinks=True)
    return to


def edit_json(path: Path, edit) -> None:
    value = json.loads(path.read_text())
    edit(value)
    path.write_text(json.dumps(value))


def assert_refused(result: subprocess.CompletedProcess, *names: str) -> None:
    """Exit 1 with one line ``error: ...`` naming each of ``names``, no traceback (log lines of the
    run before it, ``INFO: ...``, may come first)."""
    assert result.returncode == 1, (result.returncode, result.stdout[-1000:], result.stderr[-2000:])
    lines = [line for line in result.stderr.strip().splitlines() if not line.startswith(("INFO: ", "WARNING: "))]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.stderr, result.stderr
    for name in names:
        assert name in lines[0], (name, lines[0])


@pytest.fixture(scope="session")
def finished_runs(tmp_path_factory):
    """Finished runs under ``<root>/runs``: a custom LoRA run with its own base, an AG News
    pretraining run and a LoRA run on it, and a PEFT run on a tiny DistilBERT in ``<root>/backbone``."""
    from loralab.training.experiment import train

    root = tmp_path_factory.mktemp("folders")
    data_dir = write_tiny_data(root / "data")
    cache = f"paths.cache_dir={root / 'cache'}"
    common = tiny_run_overrides(data_dir) + [cache]
    folders = {name: root / "runs" / name for name in ("own_base", "pretrain", "on_pretrain", "peft")}
    train(compose_train_config(folders["own_base"], common + ["model=lora_textclassifier", "model.lora.rank=2"]))
    imdb_words = f"model.tokenizer.vocab_corpora=[{{name:imdb,data_dir:'{data_dir}'}}]"
    train(compose_train_config(folders["pretrain"], common + ["experiment=agnews_pretrain", imdb_words]))
    on_pretrain = common + ["experiment=imdb_lora", f"model.pretrained={folders['pretrain']}"]
    train(compose_train_config(folders["on_pretrain"], on_pretrain))
    backbone = save_tiny_distilbert(root / "backbone")
    peft = quiet_run_overrides(data_dir) + [cache, "model=lora_distilbert", f"model.backbone={backbone}"]
    train(compose_train_config(folders["peft"], peft + ["model.lora.rank=4", "optim.optimizer.lr=3e-3"]))
    return {"root": root, "backbone": backbone, "cache": cache, **folders}
