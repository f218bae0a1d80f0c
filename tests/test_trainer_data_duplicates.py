"""Duplicate search: the vectorised pair searches agree with brute force, and a split fed the
findings keeps every duplicate set on one side."""
from __future__ import annotations

import itertools
import time

import numpy as np
import pytest

from trainer.data.dataset import ImageItem
from trainer.data.duplicates import (
    DuplicateConfig,
    find_duplicates,
    identical_across,
    identical_pairs,
    similar_across,
    similar_pairs,
)


def unit_rows(count: int, dims: int, seed: int) -> np.ndarray:
    rows = np.random.default_rng(seed).normal(size=(count, dims)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_similar_pairs_match_brute_force_across_blocks():
    base = unit_rows(60, 8, seed=0)
    twins = base[:20] + np.random.default_rng(1).normal(0, 0.05, (20, 8)).astype(np.float32)
    vectors = np.vstack([base, twins / np.linalg.norm(twins, axis=1, keepdims=True)])
    found = {(p.first, p.second) for p in similar_pairs(vectors, 0.95, block=7)}
    expected = {(i, j) for i, j in itertools.combinations(range(len(vectors)), 2) if vectors[i] @ vectors[j] >= 0.95}
    assert found == expected and len(found) >= 20


def test_identical_pairs_match_brute_force():
    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, (30, 8, 8, 3)).astype(np.uint8)
    images[10] = np.clip(images[3].astype(int) + rng.integers(-2, 3, (8, 8, 3)), 0, 255)
    images[20] = images[3]
    found = {(p.first, p.second) for p in identical_pairs(images, 2.0, block=4)}
    flat = images.reshape(30, -1).astype(float)
    expected = {
        (i, j) for i, j in itertools.combinations(range(30), 2) if np.sqrt(np.mean((flat[i] - flat[j]) ** 2)) <= 2.0
    }
    assert found == expected == {(3, 10), (3, 20), (10, 20)}


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_the_prefilter_s_block_means_are_exact_4x4_averages(dtype):
    from trainer.data.duplicates import _block_means

    images = np.random.default_rng(6).integers(0, 256, (5, 8, 8, 3)).astype(dtype)
    images[0] = 255  # sixteen of the largest uint8 value must not overflow
    expected = images.astype(np.float64).reshape(5, 2, 4, 2, 4, 3).mean(axis=(2, 4)).reshape(5, -1)
    np.testing.assert_array_equal(_block_means(images), expected.astype(np.float32))


def test_searches_across_two_sets_pair_each_first_row_with_rows_of_the_second_only():
    rng = np.random.default_rng(3)
    first, second = unit_rows(25, 8, seed=4), unit_rows(9, 8, seed=5)
    first[7] = second[2]
    first[8] = first[9]  # a pair within the first set: not a match across
    found = {(p.first, p.second) for p in similar_across(first, second, 0.95, block=4)}
    assert found == {(i, j) for i in range(25) for j in range(9) if first[i] @ second[j] >= 0.95} and (7, 2) in found
    assert (8, 9) not in found

    images, others = rng.integers(0, 256, (12, 8, 8, 3)).astype(np.uint8), rng.integers(0, 256, (5, 8, 8, 3)).astype(np.uint8)
    images[4] = np.clip(others[1].astype(int) + rng.integers(-2, 3, (8, 8, 3)), 0, 255)
    images[5] = images[6]
    assert [(p.first, p.second) for p in identical_across(images, others, 2.0, block=5)] == [(4, 1)]
    assert identical_across(images[:0], others, 2.0) == []


def test_five_thousand_descriptors_search_in_seconds():
    vectors = unit_rows(5000, 768, seed=3)
    start = time.perf_counter()
    similar_pairs(vectors, 0.94)
    assert time.perf_counter() - start < 10.0


def test_exact_copies_across_classes_are_conflicts_and_groups(tmp_path):
    items = [ImageItem(tmp_path / name, label, name) for name, label in [("a1", "a"), ("a2", "a"), ("b1", "b")]]
    descriptors = unit_rows(3, 8, seed=4)
    thumbnails = np.random.default_rng(5).integers(0, 256, (3, 8, 8, 3)).astype(np.uint8)
    findings = find_duplicates(items, ["x", "y", "x"], descriptors, thumbnails)
    assert [[i.path.name for i in g.items] for g in findings.exact] == [["a1", "b1"]]
    assert findings.exact[0].cross_class
    assert [(c.first.path.name, c.second.path.name, c.kind) for c in findings.conflicts] == [("a1", "b1", "exact")]


def test_look_alike_crops_across_classes_neither_link_nor_conflict(tmp_path):
    items = [ImageItem(tmp_path / n, label, n) for n, label in [("a1", "a"), ("b1", "b")]]
    same_crop = np.tile(unit_rows(1, 8, seed=6), (2, 1))
    frames = np.random.default_rng(7).integers(0, 256, (2, 8, 8, 3)).astype(np.uint8)
    findings = find_duplicates(items, ["x", "y"], same_crop, frames)
    assert findings.near == [] and findings.conflicts == []
    assert len(findings.lookalikes()) == 1


def test_mismatched_inputs_are_rejected(tmp_path):
    with pytest.raises(ValueError, match="2 items, 1 hashes"):
        find_duplicates([ImageItem(tmp_path / "a", "a", "a")] * 2, ["x"], unit_rows(2, 4, 0), np.zeros((2, 4, 4, 3)))


def test_bad_thresholds_are_rejected():
    with pytest.raises(ValueError, match="near_threshold"):
        DuplicateConfig(near_threshold=1.5)
    with pytest.raises(ValueError, match="identical_rms"):
        DuplicateConfig(identical_rms=-1)


def test_threads_storing_the_same_image_at_once_do_not_trip_over_each_others_temp_file(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    import cv2
    import numpy as np

    from trainer.data.analysis import image_facts
    from trainer.data.crops import CropConfig

    image = tmp_path / "brick.png"
    frame = np.full((64, 64, 3), 230, np.uint8)
    frame[20:40, 24:44] = (200, 30, 30)
    cv2.imwrite(str(image), frame)
    copies = [tmp_path / f"copy{i}.png" for i in range(16)]  # same bytes: one cache entry
    for copy in copies:
        copy.write_bytes(image.read_bytes())
    with ThreadPoolExecutor(8) as pool:
        facts = list(pool.map(lambda p: image_facts(p, CropConfig(), tmp_path / "cache"), copies))
    assert all(f.problem is None for f in facts) and len({f.sha256 for f in facts}) == 1
    assert not list((tmp_path / "cache").rglob("*.tmp"))
