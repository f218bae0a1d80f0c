"""The preprocessing contract: square crops that never squash, clamped at edges, (h, w) order."""
from __future__ import annotations

import numpy as np
import pytest

from device.vision.box import Box
from device.vision.crop import crop_for_model, square_box
from device.vision.preprocess import find_and_crop, model_input, warm_up_frame


def frame_with_brick(box: Box, hw=(200, 300)) -> np.ndarray:
    frame = np.full((*hw, 3), 240, np.uint8)
    frame[box.y : box.y + box.h, box.x : box.x + box.w] = (200, 20, 20)
    return frame


def brick_extent(crop: np.ndarray) -> tuple[int, int]:
    """(height, width) of the red region of a crop."""
    ys, xs = np.nonzero((crop[..., 0] > 120) & (crop[..., 1] < 120))
    return ys.max() - ys.min() + 1, xs.max() - xs.min() + 1


def test_a_wide_brick_keeps_its_aspect_ratio():
    box = Box(100, 80, 80, 20)
    crop = crop_for_model(frame_with_brick(box), box, (96, 96), margin=0.1)
    height, width = brick_extent(crop)
    assert width / height == pytest.approx(4.0, rel=0.1)


def test_size_is_height_then_width_and_the_content_is_not_stretched():
    box = Box(100, 60, 40, 40)
    crop = crop_for_model(frame_with_brick(box), box, (48, 96), margin=0.0)
    assert crop.shape == (48, 96, 3)
    # The square crop is resized to the non-square size as asked; the brick fills it exactly.
    assert brick_extent(crop) == (48, 96)


def test_a_box_at_the_edge_is_shifted_inside_not_padded():
    box = Box(0, 0, 30, 30)
    square = square_box(box, (200, 300), margin=0.5)
    assert (square.x, square.y, square.w, square.h) == (0, 0, 60, 60)
    crop = crop_for_model(frame_with_brick(box), box, (60, 60), margin=0.5)
    assert brick_extent(crop) == (30, 30)


def test_a_square_larger_than_the_frame_is_padded_by_replicating_edges():
    box = Box(0, 0, 300, 100)  # wider than the 100-pixel-high frame
    frame = frame_with_brick(box, hw=(100, 300))
    crop = crop_for_model(frame, box, (30, 30), margin=0.0)
    assert crop.shape == (30, 30, 3)
    assert np.all(crop[..., 0] > 150)  # padding repeats the brick's edge pixels, no black bars


def test_model_input_finds_the_brick_itself_and_is_deterministic():
    box = Box(150, 70, 40, 30)
    frame = frame_with_brick(box)
    found = model_input(frame, (64, 64), margin=0.0)
    assert np.array_equal(found, model_input(frame, (64, 64), margin=0.0))
    assert np.array_equal(found, crop_for_model(frame, box, (64, 64), margin=0.0))


def test_the_warm_up_frame_takes_the_whole_path_a_brick_takes():
    box, crop = find_and_crop(warm_up_frame(), (40, 48))
    assert box is not None  # found, not the whole-frame fallback: every step of the finder ran
    assert abs(box.x - 50) <= 2 and abs(box.y - 36) <= 2 and abs(box.w - 36) <= 4 and abs(box.h - 24) <= 4
    assert crop.shape == (40, 48, 3)


def test_model_input_uses_the_whole_frame_when_nothing_stands_out():
    frame = np.full((120, 120, 3), 128, np.uint8)
    frame[:60] = 127
    assert np.array_equal(model_input(frame, (32, 32)), crop_for_model(frame, None, (32, 32)))


def test_model_input_rejects_a_bgra_frame():
    with pytest.raises(ValueError, match="HxWx3 uint8"):
        model_input(np.zeros((10, 10, 4), np.uint8), (8, 8))


def test_shrinking_by_2x_or_more_averages_away_pixel_fine_detail():
    # Stripes two pixels wide every four: a 4x area average is half grey, while bilinear taps
    # (at 4i + 1.5) would land on the white columns only and alias them to white.
    frame = np.zeros((200, 200, 3), np.uint8)
    frame[:, (np.arange(200) % 4 == 1) | (np.arange(200) % 4 == 2)] = 255
    crop = crop_for_model(frame, None, (50, 50))
    assert np.abs(crop.astype(int) - 128).max() <= 1


def test_shrinking_by_less_than_2x_keeps_the_brick_where_it_was():
    box = Box(60, 40, 60, 60)
    frame = frame_with_brick(box)
    crop = crop_for_model(frame, box, (48, 48), margin=0.0)  # 60 -> 48: bilinear
    assert brick_extent(crop) == (48, 48)
