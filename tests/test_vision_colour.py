"""A colour name for the brick in a frame, under a tinted light: white-balanced on the table,
judged on the brick's own pixels; the trainer's cached thumbnails name it as a full frame does."""
from __future__ import annotations

import numpy as np
import pytest

from device.vision.box import Box
from device.vision.colour import balanced_brick_rgb, brick_colour_name, colour_name, frame_thumbnail

PINK_LIGHT = np.array([1.0, 0.75, 0.9])  # the tint a rig's lamp puts on table and brick alike
TABLE_RGB = (232, 228, 230)
BOX = Box(x=20, y=24, w=24, h=16)  # in a 64 x 64 frame, the thumbnail's own size


def lit_thumbnail(brick_rgb: tuple[int, int, int], hole: bool = False) -> np.ndarray:
    """A 64 x 64 frame of the table with a brick filling BOX, both under PINK_LIGHT; `hole`
    shows the table through the middle of the brick, as an arch does."""
    frame = np.empty((64, 64, 3), np.float64)
    frame[:] = TABLE_RGB
    frame[BOX.y : BOX.y + BOX.h, BOX.x : BOX.x + BOX.w] = brick_rgb
    if hole:
        frame[BOX.y + 4 : BOX.y + BOX.h, BOX.x + 6 : BOX.x + BOX.w - 6] = TABLE_RGB
    return np.clip(frame * PINK_LIGHT, 0, 255).astype(np.uint8)


def name_of(brick_rgb: tuple[int, int, int], hole: bool = False) -> str:
    return colour_name(*balanced_brick_rgb(lit_thumbnail(brick_rgb, hole), BOX, (64, 64)))


@pytest.mark.parametrize(
    "rgb, expected",
    [
        ((201, 26, 9), "red"),
        ((242, 205, 55), "yellow"),
        ((187, 233, 11), "lime"),
        ((24, 80, 50), "dark green"),
        ((0, 85, 191), "blue"),
        ((242, 243, 242), "white"),
        ((20, 24, 28), "black"),
        ((100, 60, 160), "purple"),
    ],
)
def test_a_brick_is_named_by_its_own_colour_under_a_pink_light(rgb, expected):
    assert name_of(rgb) == expected


def test_without_white_balance_the_pink_light_would_turn_a_white_brick_pink():
    tinted = lit_thumbnail((242, 243, 242))[BOX.y + 8, BOX.x + 12]
    assert colour_name(tinted, float(np.mean(TABLE_RGB * PINK_LIGHT))) != "white"
    assert name_of((242, 243, 242)) == "white"


def test_an_arch_is_named_by_its_bricks_pixels_not_the_table_through_its_hole():
    assert name_of((201, 26, 9), hole=True) == "red"


def test_a_brick_the_colour_of_the_table_falls_back_to_the_middle_of_its_box():
    rgb, table = balanced_brick_rgb(lit_thumbnail(TABLE_RGB), BOX, (64, 64))
    assert colour_name(rgb, table) == "white"


def test_a_full_frame_is_named_as_its_thumbnail_is():
    frame = np.kron(lit_thumbnail((24, 80, 50)), np.ones((5, 5, 1), np.uint8))  # 320 x 320, the brick 5x larger
    box = Box(x=BOX.x * 5, y=BOX.y * 5, w=BOX.w * 5, h=BOX.h * 5)
    assert np.array_equal(frame_thumbnail(frame), lit_thumbnail((24, 80, 50)))
    assert brick_colour_name(frame, box) == "dark green"
