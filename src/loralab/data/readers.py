"""Read a split from a local file (parquet, csv, jsonl) or the original ``aclImdb/`` folder."""

from __future__ import annotations

import functools
from pathlib import Path

import pyarrow as pa

from loralab.cli_errors import first_line
from loralab.data.text_split import TextSplit

TABLE_SUFFIXES = (".parquet", ".csv", ".jsonl", ".json")


class DataFileError(ValueError):
    """A data file exists but cannot be used as it is."""


def _read_arrow_table(path: Path) -> pa.Table:
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path)
    if suffix == ".csv":
        import pyarrow.csv as pcsv

        return pcsv.read_csv(path)
    if suffix in (".jsonl", ".json"):
        import pyarrow.json as pjson

        return pjson.read_json(path)
    raise DataFileError(f"{path}: unsupported file type {suffix!r}; use one of {', '.join(TABLE_SUFFIXES)}")


def read_table_split(path: Path, text_column: str = "text", label_column: str = "label") -> TextSplit:
    """Read one split from a table file with a text and an integer label column. The jobs of a
    multirun share one process: a file unchanged since the last read (same size and mtime) is not
    parsed again."""
    stat = Path(path).stat()
    return _read_table_split(Path(path).resolve(), stat.st_size, stat.st_mtime_ns, text_column, label_column)


@functools.lru_cache(maxsize=4)
def _read_table_split(path: Path, size: int, mtime_ns: int, text_column: str, label_column: str) -> TextSplit:
    try:
        table = _read_arrow_table(path)
    except (pa.ArrowException, OSError) as error:
        raise DataFileError(
            f"cannot read {path} ({first_line(error)}); re-create the file or point data.path elsewhere"
        ) from None
    missing = [c for c in (text_column, label_column) if c not in table.column_names]
    if missing:
        raise DataFileError(
            f"{path} has no column {', '.join(map(repr, missing))} (it has {', '.join(table.column_names)}); "
            "set data.text_column / data.label_column"
        )
    texts = table.column(text_column).to_pylist()
    labels = table.column(label_column).to_pylist()
    if any(t is None for t in texts) or any(not isinstance(label, int) for label in labels):
        raise DataFileError(f"{path}: {text_column!r} must be non-null text and {label_column!r} integer labels")
    return TextSplit(texts, labels)


def is_aclimdb_folder(path: Path) -> bool:
    return (path / "train" / "pos").is_dir() and (path / "train" / "neg").is_dir()


def read_aclimdb_split(root: Path, split: str) -> TextSplit:
    """The layout of Maas et al.'s archive: ``<split>/neg/*.txt`` (label 0), ``<split>/pos/*.txt`` (label 1)."""
    texts: list[str] = []
    labels: list[int] = []
    for label, folder in enumerate(("neg", "pos")):
        for file in sorted((root / split / folder).glob("*.txt")):
            texts.append(file.read_text(encoding="utf-8"))
            labels.append(label)
    if not texts:
        raise DataFileError(f"{root / split} holds no neg/*.txt or pos/*.txt reviews")
    return TextSplit(texts, labels)


def find_split_file(folder: Path, split: str) -> Path | None:
    for suffix in TABLE_SUFFIXES:
        candidate = folder / f"{split}{suffix}"
        if candidate.is_file():
            return candidate
    return None
