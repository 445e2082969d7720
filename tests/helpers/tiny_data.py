"""Tiny, learnable data sets written as parquet: sentiment reviews (IMDb's stand-in) and topics (AG News')."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

POSITIVE = ["great", "wonderful", "loved", "superb", "brilliant", "moving"]
NEGATIVE = ["awful", "boring", "hated", "dull", "terrible", "waste"]
FILLER = ["the", "movie", "film", "plot", "actors", "story", "was", "and", "a", "it"]


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


# The sentiment data's labels alternate, so its splits are balanced: a network that ignores the text
# can do no better than probability 1/2 for each class, a test loss of ln 2. Below it, it learned.
BLIND_TEST_LOSS = math.log(2)


def assert_learned(metrics: dict, margin: float = 0.03) -> None:
    """A run on the sentiment data learned from the texts: its test loss is clearly below ``BLIND_TEST_LOSS``
    and it labels more than chance right."""
    assert metrics["test/loss"] < BLIND_TEST_LOSS - margin, metrics
    assert metrics["test/acc"] > 0.55, metrics
