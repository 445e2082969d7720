"""Data content: every problem names the file, the rows it touches and the fix; valid data of any
row length or encoding reads."""

import codecs
import json
import logging

import pytest
from helpers.messages import naming

from loralab.data import TextClassificationDataModule, WordTokenizer
from loralab.data.content_checks import DataFileError, check_classes
from loralab.data.readers import read_aclimdb_split, read_table_split
from loralab.data.text_split import TextSplit
from loralab.settings import DataSettings

ROWS = [{"text": f"review number {i} was {'great' if i % 2 else 'awful'}", "label": i % 2} for i in range(40)]
LONG = "superb " * 400_000  # 2.8 MB: Arrow's 1 MB blocks cannot hold it


def write_csv(path, rows, encoding="utf-8"):
    lines = ["text,label", *(f'"{r["text"]}",{r["label"]}' for r in rows)]
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def write_jsonl(path, rows, encoding="utf-8", bom=b""):
    path.write_bytes(bom + "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode(encoding))
    return path


@pytest.mark.parametrize("writer", [write_csv, write_jsonl])
def test_a_review_longer_than_arrows_block_reads_whole(tmp_path, writer):
    rows = [{**r, "text": LONG} if i == 5 else r for i, r in enumerate(ROWS)]
    split = read_table_split(writer(tmp_path / ("long.csv" if writer is write_csv else "long.jsonl"), rows))
    assert len(split) == 40 and split.texts[5] == LONG


def test_a_long_review_is_cut_at_max_length(tmp_path):
    path = write_csv(tmp_path / "long.csv", [{**r, "text": LONG} if i == 5 else r for i, r in enumerate(ROWS)])
    settings = DataSettings(name="mine", path=str(path), max_length=16, cache_dir=str(tmp_path / "c"))
    dm = TextClassificationDataModule(settings, WordTokenizer(min_frequency=1))
    dm.setup("fit")
    assert max(int(split.lengths().max()) for split in dm.splits.values()) == 16


def test_non_utf8_bytes_name_the_file_the_line_and_data_encoding(tmp_path):
    rows = [{**r, "text": r["text"] + " café"} if i == 3 else r for i, r in enumerate(ROWS)]
    path = write_csv(tmp_path / "latin.csv", rows, encoding="latin-1")
    with pytest.raises(DataFileError, match=naming(path, "line 5", "data.encoding")):
        read_table_split(path)
    assert read_table_split(path, encoding="latin-1").texts[3].endswith("café")


@pytest.mark.parametrize(
    ("name", "write"),
    [
        ("latin.jsonl", lambda p, rows: write_jsonl(p, rows, encoding="latin-1")),
        ("utf16.csv", lambda p, rows: write_csv(p, rows, encoding="utf-16")),
        ("bom.jsonl", lambda p, rows: write_jsonl(p, rows, bom=codecs.BOM_UTF8)),
        ("bom.csv", lambda p, rows: p.write_bytes(codecs.BOM_UTF8 + write_csv(p, rows).read_bytes())),
    ],
)
def test_other_encodings_read(tmp_path, name, write):
    rows = [{**r, "text": r["text"] + " café"} for r in ROWS]
    path = tmp_path / name
    write(path, rows)
    split = read_table_split(path, encoding="latin-1" if name.startswith("latin") else "utf-8")
    assert split.texts[0].endswith("café") and split.labels[:2] == [0, 1]


def test_rows_without_text_are_left_out_with_a_warning(tmp_path, caplog):
    path = write_csv(tmp_path / "blank.csv", [{**r, "text": "  "} if i % 10 == 0 else r for i, r in enumerate(ROWS)])
    with caplog.at_level(logging.WARNING):
        split = read_table_split(path)
    assert len(split) == 36 and all(t.strip() for t in split.texts)
    assert f"{path}: 4 of 40 rows have no text" in caplog.text


def test_a_file_of_empty_texts_is_refused(tmp_path):
    path = write_csv(tmp_path / "blank.csv", [{**r, "text": " "} for r in ROWS])
    with pytest.raises(DataFileError, match=naming(path, "'text'", "data.text_column")):
        read_table_split(path)


def test_labels_that_are_not_integers_are_counted_and_named(tmp_path):
    path = tmp_path / "words.csv"
    path.write_text("text,label\n" + "".join(f'"{r["text"]}",{"pos" if r["label"] else "neg"}\n' for r in ROWS))
    with pytest.raises(DataFileError, match=naming(path, "40 of 40", "'label'")):
        read_table_split(path)
    nulls = write_jsonl(tmp_path / "nulls.jsonl", [{**r, "label": None} if i == 7 else r for i, r in enumerate(ROWS)])
    with pytest.raises(DataFileError, match=naming("1 of 40", "row 8: None")):
        read_table_split(nulls)


def test_integral_float_labels_are_integers(tmp_path):
    path = write_jsonl(tmp_path / "floats.jsonl", [{**r, "label": float(r["label"])} for r in ROWS])
    assert read_table_split(path).labels[:4] == [0, 1, 0, 1]


def test_a_training_split_of_one_class_is_refused_naming_the_file(tmp_path):
    path = write_csv(tmp_path / "one.csv", [{**r, "label": 1} for r in ROWS])
    dm = TextClassificationDataModule(
        DataSettings(name="mine", path=str(path), cache_dir=str(tmp_path / "c")), WordTokenizer()
    )
    with pytest.raises(DataFileError, match=naming("mine", "label 1", path)):
        dm.setup("fit")


def test_a_class_missing_from_training_is_a_warning(caplog):
    split = TextSplit(["a", "b", "c"], [0, 2, 0], origin="f.csv")
    with caplog.at_level(logging.WARNING):
        check_classes("mine", "train", split, 3)
    assert "mine train: class(es) [1] never occur in its 3 rows (f.csv, data.num_classes=3)" in caplog.text
    with caplog.at_level(logging.WARNING):
        check_classes("mine", "test", TextSplit(["a", "b"], [1, 1], origin="t.csv"), 2)
    assert "mine test: all 2 rows are of class 1 (t.csv)" in caplog.text


def test_a_review_file_that_is_not_utf8_is_named(tmp_path):
    for folder in ("neg", "pos"):
        (tmp_path / "train" / folder).mkdir(parents=True)
        (tmp_path / "train" / folder / "0_1.txt").write_text("fine")
    (tmp_path / "train" / "pos" / "1_9.txt").write_bytes("café".encode("latin-1"))
    with pytest.raises(DataFileError, match=naming("1_9.txt", "byte 3", "UTF-8")):
        read_aclimdb_split(tmp_path, "train")


def test_the_wrong_data_is_named_not_the_library(tmp_path):
    broken = tmp_path / "broken.jsonl"
    broken.write_text(json.dumps(ROWS[0]) + "\n{not json\n")
    with pytest.raises(DataFileError, match=naming(broken)):
        read_table_split(broken)
    (tmp_path / "header.csv").write_text("text,label\n")
    with pytest.raises(DataFileError, match=naming("no rows")):
        read_table_split(tmp_path / "header.csv")
