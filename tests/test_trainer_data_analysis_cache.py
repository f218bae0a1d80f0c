"""The per-image facts cache: what comes back from it is what was computed, and a damaged
entry is computed again."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from trainer.data.analysis import image_facts
from trainer.data.crops import CropConfig


@pytest.fixture
def photo(tmp_path):
    frame = np.full((120, 160, 3), (205, 160, 200), np.uint8)
    frame[40:80, 60:110] = (200, 30, 30)
    path = tmp_path / "brick.png"
    cv2.imwrite(str(path), frame)
    return path


def _assert_same_facts(first, second):
    assert (first.sha256, first.size_bytes, first.info, first.box, first.problem) == (
        second.sha256, second.size_bytes, second.info, second.box, second.problem)
    assert first.descriptor.dtype == second.descriptor.dtype == np.float32
    assert first.thumbnail.dtype == second.thumbnail.dtype == np.uint8
    np.testing.assert_array_equal(first.descriptor, second.descriptor)
    np.testing.assert_array_equal(first.thumbnail, second.thumbnail)


def test_facts_read_from_the_cache_equal_the_facts_computed(photo, tmp_path):
    computed = image_facts(photo, CropConfig(), tmp_path / "cache")
    assert computed.box is not None
    (entry,) = (tmp_path / "cache").rglob("*.facts")
    entry_time = entry.stat().st_mtime_ns
    cached = image_facts(photo, CropConfig(), tmp_path / "cache")
    assert entry.stat().st_mtime_ns == entry_time  # read, not written again
    _assert_same_facts(computed, cached)
    _assert_same_facts(computed, image_facts(photo, CropConfig()))  # and what no cache gives


@pytest.mark.parametrize("damage", [lambda data: data[:-7], lambda data: b"PK\x03\x04" + data, lambda data: data.replace(b'"info"', b'"infx"')])
def test_a_damaged_cache_entry_is_computed_again_and_replaced(photo, tmp_path, damage):
    computed = image_facts(photo, CropConfig(), tmp_path / "cache")
    (entry,) = (tmp_path / "cache").rglob("*.facts")
    whole = entry.read_bytes()
    entry.write_bytes(damage(whole))
    _assert_same_facts(computed, image_facts(photo, CropConfig(), tmp_path / "cache"))
    assert entry.read_bytes() == whole


def test_an_entry_in_the_old_npz_format_is_replaced_by_the_new_one(photo, tmp_path):
    computed = image_facts(photo, CropConfig(), tmp_path / "cache")
    (entry,) = (tmp_path / "cache").rglob("*.facts")
    entry.unlink()
    old = entry.with_suffix(".npz")
    old.write_bytes(b"PK\x03\x04 an entry as np.savez wrote it")
    _assert_same_facts(computed, image_facts(photo, CropConfig(), tmp_path / "cache"))
    assert entry.is_file() and not old.exists()
