"""Shared fixtures: each test offline, tiny data sets on disk, and finished runs to open. What
test modules import lives in ``tests/helpers``."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.tiny_backbone import save_tiny_distilbert
from helpers.tiny_data import write_tiny_data
from helpers.train_configs import compose_train_config, quiet_run_overrides, tiny_run_overrides


@pytest.fixture(autouse=True)
def _offline(monkeypatch, tmp_path):
    """Nothing in the tests may reach the network; each test gets its own cache."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    # huggingface_hub reads the variable once, at import, which collection has already done: without
    # this, a Hub id would go to the network and wait for its retries to time out.
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    monkeypatch.setenv("LORALAB_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def tiny_data_dir(tmp_path) -> Path:
    return write_tiny_data(tmp_path / "data")


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
