"""Slower checks on the real data sets in ``LORALAB_DATA_DIR`` (``../shared/data`` here); skipped elsewhere."""

from pathlib import Path

import pytest
from helpers.paths import REAL_DATA_DIR
from helpers.train_configs import compose_train_config, tiny_run_overrides

from loralab.data import load_raw_data
from loralab.training.experiment import train

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not REAL_DATA_DIR or not (Path(REAL_DATA_DIR) / "imdb" / "train.parquet").is_file(),
        reason="LORALAB_DATA_DIR with imdb/{train,test}.parquet is not set",
    ),
]


def test_real_imdb_has_both_full_splits():
    raw = load_raw_data("imdb", data_dir=REAL_DATA_DIR)
    assert (len(raw.train), len(raw.test)) == (25_000, 25_000)
    assert sorted(set(raw.train.labels)) == [0, 1] and raw.train.labels.count(1) == 12_500


def test_textclassifier_learns_real_imdb(tmp_path):
    overrides = tiny_run_overrides(Path(REAL_DATA_DIR)) + [
        "data=imdb",
        "data.max_train_samples=6000",
        "data.max_test_samples=2000",
        "data.batch_size=64",
        "model.tokenizer.min_frequency=2",
        "model.net.embed_dim=100",
        "model.net.hidden_dim=128",
        "optim.optimizer.lr=0.003",
        "trainer.max_epochs=2",
    ]
    metrics = train(compose_train_config(tmp_path / "run", overrides))
    assert metrics["test/acc"] > 0.78, metrics
