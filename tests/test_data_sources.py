import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers.messages import naming
from helpers.tiny_data import sentiment_rows, write_parquet

from loralab.data import DataNotFoundError, load_raw_data
from loralab.data.readers import DataFileError


def test_data_dir_layout(tiny_data_dir):
    raw = load_raw_data("imdb", data_dir=tiny_data_dir)
    assert (len(raw.train), len(raw.test)) == (200, 100)
    assert str(tiny_data_dir / "imdb") in raw.source


def test_path_wins_over_data_dir(tiny_data_dir, tmp_path):
    other = write_parquet(tmp_path / "other" / "train.parquet", sentiment_rows(30, seed=5))
    write_parquet(tmp_path / "other" / "test.parquet", sentiment_rows(10, seed=6))
    raw = load_raw_data("imdb", path=other.parent, data_dir=tiny_data_dir)
    assert (len(raw.train), len(raw.test)) == (30, 10)


def test_single_file_gets_a_seeded_test_split(tmp_path):
    file = tmp_path / "reviews.csv"
    rows = sentiment_rows(50, seed=3)
    import pyarrow.csv as pcsv

    pcsv.write_csv(pa.table(rows), file)
    raw = load_raw_data("mine", path=file, test_fraction=0.2, seed=1)
    assert (len(raw.train), len(raw.test)) == (40, 10)
    assert set(raw.train.texts).isdisjoint(raw.test.texts)
    assert load_raw_data("mine", path=file, test_fraction=0.2, seed=1).test == raw.test


def test_jsonl_folder(tmp_path):
    import json

    for split, n in (("train", 12), ("test", 4)):
        rows = sentiment_rows(n, seed=n)
        lines = [json.dumps({"review": t, "stars": y}) for t, y in zip(rows["text"], rows["label"])]
        (tmp_path / f"{split}.jsonl").write_text("\n".join(lines) + "\n")
    raw = load_raw_data("mine", path=tmp_path, text_column="review", label_column="stars")
    assert (len(raw.train), len(raw.test)) == (12, 4)


def test_aclimdb_folder_layout(tmp_path):
    root = tmp_path / "aclImdb"
    for split in ("train", "test"):
        for label, folder in enumerate(("neg", "pos")):
            (root / split / folder).mkdir(parents=True)
            for i in range(3):
                (root / split / folder / f"{i}_{7 * label + 1}.txt").write_text(f"{folder} review {i}")
    raw = load_raw_data("imdb", path=root)
    assert len(raw.train) == 6 and raw.train.labels.count(1) == 3
    assert raw.test.texts[0] == "neg review 0" and raw.test.labels[0] == 0


def test_offline_with_nothing_local_fails_fast_naming_what_was_tried(tmp_path):
    started = time.perf_counter()
    with pytest.raises(DataNotFoundError) as error:
        load_raw_data("imdb", data_dir=tmp_path / "nowhere", hub_id="stanfordnlp/imdb")
    message = str(error.value)
    assert "nowhere/imdb" in message and "stanfordnlp/imdb" in message and "paths.data_dir" in message
    assert "\n" not in message
    assert time.perf_counter() - started < 30  # datasets' own retries take minutes


def test_missing_path_is_named(tmp_path):
    with pytest.raises(DataNotFoundError, match=naming("data.path=", "typo.parquet")):
        load_raw_data("imdb", path=tmp_path / "typo.parquet")


def test_corrupt_parquet_names_the_file(tmp_path):
    (tmp_path / "imdb").mkdir()
    (tmp_path / "imdb" / "train.parquet").write_bytes(b"not a parquet file")
    write_parquet(tmp_path / "imdb" / "test.parquet", sentiment_rows(4, seed=1))
    with pytest.raises(DataFileError, match=naming("train.parquet")):
        load_raw_data("imdb", data_dir=tmp_path)


def test_missing_column_names_the_key_to_set(tmp_path):
    pq.write_table(pa.table({"review": ["a"], "label": [0]}), tmp_path / "train.parquet")
    pq.write_table(pa.table({"review": ["b"], "label": [1]}), tmp_path / "test.parquet")
    with pytest.raises(DataFileError, match=naming("'text'", "review, label", "data.text_column")):
        load_raw_data("imdb", path=tmp_path)


def test_a_file_read_again_in_the_same_process_is_shared_until_it_changes(tmp_path):
    from loralab.data.readers import read_table_split

    path = tmp_path / "train.parquet"
    pq.write_table(pa.table({"text": ["good film", "bad film"], "label": [1, 0]}), path)
    first = read_table_split(path)
    assert read_table_split(path) is first  # a multirun's next job: no second parse
    pq.write_table(pa.table({"text": ["good film", "bad film", "fine film"], "label": [1, 0, 1]}), path)
    assert read_table_split(path).texts == ["good film", "bad film", "fine film"]
