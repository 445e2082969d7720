"""Read a split from a local file (parquet, csv, jsonl) or the original ``aclImdb/`` folder."""

from __future__ import annotations

import codecs
import functools
from pathlib import Path

import pyarrow as pa

from loralab.cli_errors import first_line
from loralab.data.content_checks import DataFileError, checked_rows
from loralab.data.text_split import TextSplit

TABLE_SUFFIXES = (".parquet", ".csv", ".jsonl", ".json")


def _decoded_utf8(path: Path, encoding: str) -> bytes:
    """The file's bytes as UTF-8 (what Arrow parses), decoded from ``encoding`` or the byte-order
    mark a file starts with (Excel's "Unicode text" is UTF-16); one line naming the file, the line
    and the fix when the bytes are not in that encoding."""
    raw = path.read_bytes()
    for bom, name in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if raw.startswith(bom):
            encoding = name
            break
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise DataFileError(
            f"{path}: line {line} is not {encoding} (byte 0x{raw[error.start]:02x} at offset {error.start}); "
            "save the file as UTF-8, or set data.encoding=<its encoding, e.g. latin-1 or cp1252>"
        ) from None
    except LookupError:
        raise DataFileError(
            f"data.encoding={encoding!r} is not an encoding Python knows; use e.g. utf-8, latin-1"
        ) from None
    if encoding.replace("_", "-").lower() in ("utf-8", "utf8") and not raw.startswith(codecs.BOM_UTF8):
        return raw
    return text.encode("utf-8")


def _read_text_table(path: Path, encoding: str, text_column: str) -> pa.Table:
    """A csv or jsonl file, whatever the length of its rows: Arrow parses in blocks of 1 MB and
    refuses a row longer than a block ("straddles two block boundaries"), so such a file is parsed
    again with one block for the whole file."""
    import pyarrow.csv as pcsv
    import pyarrow.json as pjson

    data = _decoded_utf8(path, encoding)

    def parse(block_size: int | None) -> pa.Table:
        if path.suffix.lower() == ".csv":
            return pcsv.read_csv(
                pa.BufferReader(data),
                read_options=pcsv.ReadOptions(block_size=block_size) if block_size else None,
                # A text column of numbers stays text.
                convert_options=pcsv.ConvertOptions(column_types={text_column: pa.string()}),
            )
        options = pjson.ReadOptions(block_size=block_size) if block_size else None
        return pjson.read_json(pa.BufferReader(data), read_options=options)

    try:
        return parse(None)
    except pa.ArrowInvalid as error:
        if "straddl" not in str(error):
            raise
        return parse(min(len(data) + 1, 2**31 - 1))


def _read_arrow_table(path: Path, encoding: str, text_column: str) -> pa.Table:
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path)
    if suffix in (".csv", ".jsonl", ".json"):
        return _read_text_table(path, encoding, text_column)
    raise DataFileError(f"{path}: unsupported file type {suffix!r}; use one of {', '.join(TABLE_SUFFIXES)}")


def read_table_split(
    path: Path, text_column: str = "text", label_column: str = "label", encoding: str = "utf-8"
) -> TextSplit:
    """Read one split from a table file with a text and an integer label column. The jobs of a
    multirun share one process: a file unchanged since the last read (same size and mtime) is not
    parsed again."""
    stat = Path(path).stat()
    return _read_table_split(Path(path).resolve(), stat.st_size, stat.st_mtime_ns, text_column, label_column, encoding)


@functools.lru_cache(maxsize=4)
def _read_table_split(
    path: Path, size: int, mtime_ns: int, text_column: str, label_column: str, encoding: str
) -> TextSplit:
    try:
        table = _read_arrow_table(path, encoding, text_column)
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
    try:
        texts = table.column(text_column).to_pylist()
        labels = table.column(label_column).to_pylist()
    except UnicodeDecodeError:
        raise DataFileError(f"{path}: a text is not valid UTF-8; re-create the file with UTF-8 strings") from None
    return checked_rows(str(path), texts, labels, text_column, label_column)


def is_aclimdb_folder(path: Path) -> bool:
    return (path / "train" / "pos").is_dir() and (path / "train" / "neg").is_dir()


def read_aclimdb_split(root: Path, split: str) -> TextSplit:
    """The layout of Maas et al.'s archive: ``<split>/neg/*.txt`` (label 0), ``<split>/pos/*.txt`` (label 1)."""
    texts: list[str] = []
    labels: list[int] = []
    for label, folder in enumerate(("neg", "pos")):
        for file in sorted((root / split / folder).glob("*.txt")):
            try:
                texts.append(file.read_text(encoding="utf-8"))
            except UnicodeDecodeError as error:
                raise DataFileError(
                    f"{file}: byte {error.start} is not UTF-8; save the review as UTF-8 or delete it"
                ) from None
            labels.append(label)
    if not texts:
        raise DataFileError(f"{root / split} holds no neg/*.txt or pos/*.txt reviews")
    return checked_rows(str(root / split), texts, labels, "review", "folder")


def find_split_file(folder: Path, split: str) -> Path | None:
    for suffix in TABLE_SUFFIXES:
        candidate = folder / f"{split}{suffix}"
        if candidate.is_file():
            return candidate
    return None
