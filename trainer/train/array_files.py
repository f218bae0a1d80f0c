"""Cached arrays on disk as `.npy` files: written atomically, read back fast.

A warm training run reads one small file per image (8,500 stem activations of 25 KB for
turntable-10 with its renders). `np.load` spends ~200 us on each, mostly parsing the header
with `ast.literal_eval`; every file of a cache has the same header, so it is parsed once
and the data read straight into the array (~10 us).
"""
from __future__ import annotations

import functools
import io
import os
import tokenize
from pathlib import Path

import numpy as np

from trainer.data.temp_files import temp_beside

_MAGIC = b"\x93NUMPY"


def save_array(path: Path, array: np.ndarray) -> None:
    """Store a float32 array atomically (concurrent runs may share the cache)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_beside(path, ".npy")
    np.save(tmp, array.astype(np.float32))
    os.replace(tmp, path)


def load_array(path: Path) -> np.ndarray | None:
    """A cached array, or None when it is missing or damaged (and must be recomputed)."""
    try:
        with open(path, "rb") as file:
            data = bytearray(os.fstat(file.fileno()).st_size)
            if file.readinto(data) != len(data):
                return None
    except OSError:
        return None
    return _parse_npy(data)


def _parse_npy(data: bytearray) -> np.ndarray | None:
    """The array an `.npy` file's bytes hold (a writable view of them), or None if they are
    not one whole array."""
    if data[:6] != _MAGIC or len(data) < 10:
        return None
    width = 2 if data[6] == 1 else 4  # format 1.0 stores the header length in 2 bytes, 2.0 in 4
    start = 8 + width
    offset = start + int.from_bytes(data[8:start], "little")
    try:
        shape, fortran_order, dtype = _header(bytes(data[:offset]))
    except ValueError:
        return None
    count = int(np.prod(shape, dtype=np.int64))
    if dtype.hasobject or len(data) - offset != count * dtype.itemsize:
        return None  # truncated, padded or pickled: recompute rather than trust it
    array = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
    return array.reshape(shape, order="F" if fortran_order else "C")


@functools.lru_cache(maxsize=64)
def _header(prefix: bytes) -> tuple[tuple[int, ...], bool, np.dtype]:
    """(shape, fortran_order, dtype) of an `.npy` prefix (magic, version, header), parsed by
    NumPy's own reader; ValueError when it is not a valid header."""
    stream = io.BytesIO(prefix)
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            return np.lib.format.read_array_header_1_0(stream)
        if version == (2, 0):
            return np.lib.format.read_array_header_2_0(stream)
    except (ValueError, SyntaxError, TypeError, tokenize.TokenError) as exc:  # what NumPy's parser raises on garbage
        raise ValueError(f"not an .npy header: {exc}") from exc
    raise ValueError(f".npy format {version} (NumPy writes 3.0 only for non-Latin-1 field names, never here)")
