"""A safetensors file's header, read and checked before anything else touches the file.

The header states every tensor's dtype, shape and byte range; a whole file is exactly header plus
tensors. Checking that first means a hash never walks a crafted terabyte, and a recorded size is
compared with the weights' shapes before a network of that size is allocated.
"""

from __future__ import annotations

import json
import math
import os
import struct
from pathlib import Path

from loralab.files.safe_paths import RunFolderError, open_regular
from loralab.terminal_text import escaped

HEADER_LIMIT = 100 << 20  # safetensors' own cap on a header
BYTES_PER_ITEM = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1,
    "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
    "I32": 4, "U32": 4, "F32": 4,
    "I64": 8, "U64": 8, "F64": 8,
}  # fmt: skip


def _damaged(path: Path, problem: str) -> RunFolderError:
    return RunFolderError(f"{escaped(path)}: {problem}; the weights file is damaged or crafted")


def read_safetensors_header(path: str | Path) -> dict[str, tuple[int, ...]]:
    """The shape of each tensor in ``path``, once its header has been checked: valid JSON, known
    dtypes, byte ranges that tile the data exactly, and a stated size equal to the file's."""
    path = Path(path)
    with open_regular(path) as (fd, info):
        prefix = os.pread(fd, 8, 0)
        if len(prefix) < 8:
            raise _damaged(path, "too short for a safetensors header")
        (length,) = struct.unpack("<Q", prefix)
        if length > min(HEADER_LIMIT, info.st_size - 8):
            raise _damaged(path, f"its header length {length} does not fit the file")
        raw = os.pread(fd, length, 8)
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise _damaged(path, "its header is not JSON") from None
    if not isinstance(header, dict):
        raise _damaged(path, "its header is not an object")
    shapes, ranges = {}, []
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype, shape, (begin, end) = entry["dtype"], entry["shape"], entry["data_offsets"]
            if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in (*shape, begin, end)):
                raise TypeError
            size = math.prod(shape) * BYTES_PER_ITEM[dtype]
        except (KeyError, TypeError, ValueError):
            raise _damaged(path, f"tensor {escaped(name)} has no valid dtype, shape and data_offsets") from None
        if end - begin != size:
            raise _damaged(path, f"tensor {escaped(name)} states {end - begin} bytes for shape {shape} of {dtype}")
        shapes[name] = tuple(shape)
        ranges.append((begin, end))
    position = 0
    for begin, end in sorted(ranges):
        if begin != position:
            raise _damaged(path, "its tensors' byte ranges overlap or leave gaps")
        position = end
    if 8 + length + position != info.st_size:
        raise _damaged(path, f"its header states {8 + length + position} bytes but the file has {info.st_size}")
    return shapes
