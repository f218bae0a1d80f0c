"""A colour name for the brick in a frame, under a tinted light: white-balanced on the table,
judged on the brick's own pixels, at the same cost whatever the frame's size."""
from __future__ import annotations

import numpy as np
import pytest

from device.vision.box import Box
from device.vision.colour import FAMILIES, SWATCHES, brick_colour_name, brick_rgb, colour_name

PINK_LIGHT = np.array([1.0, 0.75, 0.9])  # the tint a rig's lamp puts on table and brick alike
TABLE_RGB = (232, 228, 230)
BOX = Box(x=100, y=120, w=120, h=80)  # in a 320 x 320 frame


def lit_frame(brick_rgb: tuple[int, int, int], hole: bool = False, scale: int = 1) -> np.ndarray:
    """A 320 x 320 frame (times `scale`) of the table with a brick filling BOX, both under
    PINK_LIGHT; `hole` shows the table through the middle of the brick, as an arch does."""
    frame = np.empty((320, 320, 3), np.float64)
    frame[:] = TABLE_RGB
    frame[BOX.y : BOX.y + BOX.h, BOX.x : BOX.x + BOX.w] = brick_rgb
    if hole:
        frame[BOX.y + 20 : BOX.y + BOX.h, BOX.x + 30 : BOX.x + BOX.w - 30] = TABLE_RGB
    noise = np.random.default_rng(0).normal(0.0, 3.0, frame.shape)  # sensor noise: single samples vary
    lit = np.clip(frame * PINK_LIGHT + noise, 0, 255).astype(np.uint8)
    return np.kron(lit, np.ones((scale, scale, 1), np.uint8))


def name_of(brick: tuple[int, int, int], hole: bool = False) -> str:
    return brick_colour_name(lit_frame(brick, hole), BOX)


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
    tinted = np.median(lit_frame((242, 243, 242))[BOX.y : BOX.y + BOX.h, BOX.x : BOX.x + BOX.w].reshape(-1, 3), axis=0)
    assert colour_name(tinted.astype(np.uint8), float(np.mean(TABLE_RGB * PINK_LIGHT))) != "white"
    assert name_of((242, 243, 242)) == "white"


def test_an_arch_is_named_by_its_bricks_pixels_not_the_table_through_its_hole():
    assert name_of((201, 26, 9), hole=True) == "red"


def test_a_brick_the_colour_of_the_table_falls_back_to_the_middle_of_its_box():
    rgb, table = brick_rgb(lit_frame(TABLE_RGB), BOX)
    assert colour_name(rgb, table) == "white"


def test_a_larger_frame_of_the_same_scene_gets_the_same_name_and_colour():
    small_rgb, _ = brick_rgb(lit_frame((24, 80, 50)), BOX)
    large = lit_frame((24, 80, 50), scale=4)  # 1280 x 1280, as a Pi camera's frames are
    large_box = Box(x=BOX.x * 4, y=BOX.y * 4, w=BOX.w * 4, h=BOX.h * 4)
    large_rgb, _ = brick_rgb(large, large_box)
    assert brick_colour_name(large, large_box) == "dark green"
    assert np.abs(large_rgb.astype(int) - small_rgb.astype(int)).max() <= 3


def test_every_name_has_a_family_and_a_swatch():
    assert set(FAMILIES) == set(SWATCHES)
    assert FAMILIES["dark green"] == FAMILIES["green"] != FAMILIES["lime"]
