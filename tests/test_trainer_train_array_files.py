"""Cached arrays read back exactly as NumPy wrote them, and anything damaged reads as absent."""
from __future__ import annotations

import numpy as np

from trainer.train.array_files import load_array, save_array


def test_a_saved_array_comes_back_equal_and_writable(tmp_path):
    array = np.random.default_rng(0).normal(size=(20, 20, 16)).astype(np.float32)
    save_array(tmp_path / "a.npy", array)
    loaded = load_array(tmp_path / "a.npy")
    assert loaded.dtype == np.float32 and loaded.shape == (20, 20, 16)
    np.testing.assert_array_equal(loaded, array)
    loaded[0, 0, 0] = 1.0  # callers may scale or fill what they read


def test_files_numpy_writes_in_other_layouts_and_formats_read_as_np_load_reads_them(tmp_path):
    fortran = np.asfortranarray(np.arange(12, dtype=np.float64).reshape(3, 4))
    np.save(tmp_path / "fortran.npy", fortran)
    with open(tmp_path / "v2.npy", "wb") as file:
        np.lib.format.write_array(file, np.arange(5, dtype=np.int16), version=(2, 0))
    for name in ("fortran.npy", "v2.npy"):
        expected = np.load(tmp_path / name)
        loaded = load_array(tmp_path / name)
        assert loaded.dtype == expected.dtype and loaded.shape == expected.shape
        np.testing.assert_array_equal(loaded, expected)


def test_missing_truncated_or_foreign_files_read_as_none(tmp_path):
    save_array(tmp_path / "whole.npy", np.ones((8, 8), np.float32))
    data = (tmp_path / "whole.npy").read_bytes()
    (tmp_path / "truncated.npy").write_bytes(data[:-4])
    (tmp_path / "padded.npy").write_bytes(data + b"\0\0\0\0")
    (tmp_path / "foreign.npy").write_bytes(b"PK\x03\x04 not an array at all")
    (tmp_path / "bad-header.npy").write_bytes(data[:10] + b"{'descr': nonsense}" + data[29:])
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    for name in ("missing.npy", "truncated.npy", "padded.npy", "foreign.npy", "bad-header.npy", "objects.npy"):
        assert load_array(tmp_path / name) is None, name
