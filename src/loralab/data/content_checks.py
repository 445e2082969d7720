"""What the rows of a data file must hold, checked where the file is known, so that every problem
names the file, how many rows it touches and the fix: a row without text is left out with a
warning (the run can go on), a label that is not an integer stops the run, and a split whose
classes cannot train a classifier stops it or warns."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from loralab.data.text_split import TextSplit
from loralab.files.safe_paths import RunFolderError
from loralab.terminal_text import escaped

log = logging.getLogger(__name__)


class DataFileError(ValueError):
    """A data file exists but cannot be used as it is."""


@contextmanager
def content_not_quoted(named_by: str | None) -> Iterator[None]:
    """Errors of the block without the data's content when a run folder (``named_by``), not the
    user, chose the data files: it may have named any file (a credentials file, say), and a message
    quoting a cell or a header would print it. A missing file is still said as it is."""
    if named_by is None:
        yield
        return
    try:
        yield
    except RunFolderError:  # about a file's kind or place, never its content
        raise
    except FileNotFoundError as error:
        raise FileNotFoundError(escaped(error)) from None
    except Exception as error:
        raise DataFileError(
            f"the data files that {escaped(named_by)} names cannot be used ({type(error).__name__}; their content is "
            "not shown, since a run folder chose them); pass data=<name> or data.path=<file> to use your own data"
        ) from None


def _as_label(value: object) -> int | None:
    """An integer label from an int, an integral float (1.0, as JSON writers give) or a digit string."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def checked_rows(origin: str, texts: list, labels: list, text_column: str, label_column: str) -> TextSplit:
    """The rows of ``origin`` as a split: labels made integers, rows without text left out."""
    rows = len(texts)
    if rows == 0:
        raise DataFileError(f"{origin} holds no rows (a header only?); add rows, or point data.path at another file")
    ints = [_as_label(label) for label in labels]
    bad = [i for i, label in enumerate(ints) if label is None]
    if bad:
        raise DataFileError(
            f"{origin}: {len(bad)} of {rows} rows have a {label_column!r} that is not an integer label "
            f"(row {bad[0] + 1}: {labels[bad[0]]!r}); give every row an integer 0..num_classes-1, "
            "or point data.label_column at the column that has them"
        )
    strings = ["" if t is None else t if isinstance(t, str) else str(t) for t in texts]
    keep = [i for i, text in enumerate(strings) if text.strip()]
    if not keep:
        raise DataFileError(
            f"{origin}: all {rows} rows have an empty {text_column!r}; point data.text_column at the column with the texts"
        )
    if len(keep) < rows:
        log.warning(
            "%s: %d of %d rows have no text (empty or only whitespace) and are left out; "
            "remove them from the file to silence this warning",
            origin,
            rows - len(keep),
            rows,
        )
        strings, ints = [strings[i] for i in keep], [ints[i] for i in keep]
    return TextSplit(strings, ints, origin=origin)


def check_classes(data_name: str, split_name: str, split: TextSplit, num_classes: int) -> None:
    """Labels inside ``0..num_classes-1``; a training split with two classes or more. A class that
    never occurs in training, or a validation/test split of one class, is a warning."""
    where = f"{split.origin}, " if split.origin else ""
    counts = Counter(split.labels)
    outside = sorted(label for label in counts if not 0 <= label < num_classes)
    if outside:
        rows = sum(counts[label] for label in outside)
        raise DataFileError(
            f"{data_name} {split_name} labels {outside[:5]} are outside 0..{num_classes - 1}; set data.num_classes "
            f"(and data.label_names) to match the data ({where}{rows} of {len(split)} rows)"
        )
    if split_name == "train" and len(counts) < 2:
        (label,) = counts
        raise DataFileError(
            f"the train split of {data_name} has one class only (label {label} in all {len(split)} rows; {where}"
            "a classifier needs two or more); check data.label_column, or raise data.max_train_samples"
        )
    missing = [label for label in range(num_classes) if label not in counts]
    if split_name == "train" and missing:
        log.warning(
            "%s train: class(es) %s never occur in its %d rows (%sdata.num_classes=%d): the model cannot learn "
            "them; check data.num_classes",
            data_name,
            missing[:5],
            len(split),
            where,
            num_classes,
        )
    elif split_name != "train" and len(counts) < 2 and len(split) > 1:
        log.warning(
            "%s %s: all %d rows are of class %s (%s): its accuracy says little about the model",
            data_name,
            split_name,
            len(split),
            next(iter(counts)),
            split.origin or "no file",
        )
