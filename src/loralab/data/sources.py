"""Find a data set: ``data.path``, then ``<paths.data_dir>/<name>/``, then the Hugging Face Hub.

The first place that has the data wins. When none has it, one error names every place tried and
how to fix it; an unreachable Hub is detected in a few seconds rather than after minutes of retries.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from loralab.cli_errors import first_line
from loralab.data.content_checks import DataFileError, checked_rows
from loralab.data.readers import (
    find_split_file,
    is_aclimdb_folder,
    read_aclimdb_split,
    read_table_split,
)
from loralab.data.text_split import TextSplit, train_val_split
from loralab.hub import hub_reachable, offline_mode


class DataNotFoundError(FileNotFoundError):
    """No place configured for a data set has it."""


@dataclass(frozen=True)
class RawData:
    train: TextSplit
    test: TextSplit
    source: str


def _load_from_path(
    path: Path, text_column: str, label_column: str, encoding: str, test_fraction: float, seed: int
) -> RawData:
    if path.is_file():
        # One file holds everything: carve a seeded test split off it.
        whole = read_table_split(path, text_column, label_column, encoding)
        train, test = train_val_split(whole, test_fraction, seed)
        return RawData(train, test, f"{path} (test: {test_fraction:.0%} held out)")
    if is_aclimdb_folder(path):
        return RawData(read_aclimdb_split(path, "train"), read_aclimdb_split(path, "test"), f"{path} (aclImdb layout)")
    train_file, test_file = find_split_file(path, "train"), find_split_file(path, "test")
    if train_file is None or test_file is None:
        raise DataNotFoundError(f"{path} has no train.* and test.* (parquet, csv or jsonl) files nor an aclImdb layout")
    return RawData(
        read_table_split(train_file, text_column, label_column, encoding),
        read_table_split(test_file, text_column, label_column, encoding),
        str(path),
    )


def _load_from_hub(hub_id: str, text_column: str, label_column: str) -> RawData:
    import datasets  # slow to import; only needed here

    dataset = datasets.load_dataset(hub_id)
    splits = {
        name: checked_rows(
            f"Hub data set {hub_id} ({name})",
            dataset[name][text_column],
            dataset[name][label_column],
            text_column,
            label_column,
        )
        for name in ("train", "test")
    }
    return RawData(splits["train"], splits["test"], f"Hugging Face Hub {hub_id}")


def load_raw_data(
    name: str,
    path: str | Path | None = None,
    data_dir: str | Path | None = None,
    hub_id: str | None = None,
    text_column: str = "text",
    label_column: str = "label",
    encoding: str = "utf-8",
    test_fraction: float = 0.2,
    seed: int = 0,
) -> RawData:
    """The train and test splits of data set ``name`` from the first place that has them."""
    tried: list[str] = []
    if path:
        path = Path(path)
        if not path.exists():
            raise DataNotFoundError(
                f"data.path={path} does not exist; fix the path or drop data.path to use paths.data_dir"
            )
        return _load_from_path(path, text_column, label_column, encoding, test_fraction, seed)
    if data_dir:
        folder = Path(data_dir) / name
        if folder.is_dir():
            try:
                return _load_from_path(folder, text_column, label_column, encoding, test_fraction, seed)
            except DataNotFoundError:
                pass
        tried.append(f"{folder}/{{train,test}}.parquet")
    if hub_id:
        tried.append(f"the Hub ({hub_id})")
        if offline_mode() or hub_reachable():
            try:
                return _load_from_hub(hub_id, text_column, label_column)
            except (DataFileError, KeyError) as error:
                raise DataFileError(f"Hub data set {hub_id} is not usable as it is: {error}") from None
            except Exception as error:  # datasets raises many types for "not cached / no network"
                tried[-1] += f": {first_line(error)}"
        else:
            tried[-1] += ": huggingface.co unreachable"
    raise DataNotFoundError(
        f"data set {name!r} not found; tried {'; '.join(tried) or 'nothing (no data.path, paths.data_dir or hub_id)'}. "
        f"Fix: put train/test parquet files in <data_dir>/{name}/ and pass paths.data_dir=<data_dir> "
        "(or set LORALAB_DATA_DIR), or pass data.path=<file or folder>"
    )
