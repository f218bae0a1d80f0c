"""A coarse colour name for the brick in a frame: what the audit charts per part, what the
bundle records each part was photographed in, and what the sorter checks a brick against.

The rig's light tints every photo (pink on turntable-10), so a thumbnail of the frame is first
white-balanced on its border, the table around the brick; then the median of the box's pixels
that differ from the table is named by hue, saturation and brightness against the table's.
The names are coarse (shaded faces of a white brick can read as grey or tan), good for "this
part was never photographed in green", not for telling LEGO's shades apart.
"""
from __future__ import annotations

import cv2
import numpy as np

from device.vision.box import Box

# The frame is named from a thumbnail this many pixels a side (the audit's cached one).
THUMBNAIL_SIDE = 64

# Display colours of the names (sRGB), for the report's chart; also the names' order there.
SWATCHES: dict[str, tuple[int, int, int]] = {
    "white": (242, 243, 242),
    "grey": (150, 150, 150),
    "bluish grey": (160, 165, 169),
    "black": (27, 42, 52),
    "tan": (228, 205, 158),
    "brown": (88, 42, 18),
    "red": (201, 26, 9),
    "dark red": (114, 14, 15),
    "magenta": (146, 57, 120),
    "orange": (254, 138, 24),
    "yellow": (242, 205, 55),
    "lime": (187, 233, 11),
    "green": (35, 140, 65),
    "dark green": (24, 70, 50),
    "blue": (0, 85, 191),
    "dark blue": (10, 52, 99),
    "purple": (100, 60, 160),
}


# How far (sum over R, G, B after white balance) a pixel must be from the table to count as brick.
FOREGROUND_DISTANCE = 60


def balanced_brick_rgb(thumbnail: np.ndarray, box: Box, frame_hw: tuple[int, int]) -> tuple[np.ndarray, float]:
    """(the brick's median RGB in the frame's `thumbnail`, white-balanced so the thumbnail's
    border, the table, comes out grey; the table's brightness, 0..255). The brick's pixels are
    those of `box` (frame pixels) that differ from the table, so an arch's hole or a frame
    part's middle is left out; where too few do (a white brick on a white table), the middle
    of the box stands for it."""
    side_y, side_x = thumbnail.shape[:2]
    height, width = frame_hw
    top, bottom = box.y / height * side_y, (box.y + box.h) / height * side_y
    left, right = box.x / width * side_x, (box.x + box.w) / width * side_x
    border = np.concatenate([thumbnail[0], thumbnail[-1], thumbnail[:, 0], thumbnail[:, -1]]).astype(np.float32)
    table = np.median(border, axis=0) + 1.0  # +1: a black channel would divide by zero
    grey = float(table.mean())
    rows = slice(int(top), max(int(top) + 1, int(np.ceil(bottom))))
    cols = slice(int(left), max(int(left) + 1, int(np.ceil(right))))
    region = thumbnail[rows, cols].astype(np.float32) * (grey / table)
    pixels = region.reshape(-1, 3)
    brick = pixels[np.abs(pixels - grey).sum(axis=1) > FOREGROUND_DISTANCE]
    if len(brick) < max(4, len(pixels) // 10):
        reach_y, reach_x = max(1, region.shape[0] // 4), max(1, region.shape[1] // 4)
        middle_y, middle_x = region.shape[0] // 2, region.shape[1] // 2
        brick = region[middle_y - reach_y + 1 : middle_y + reach_y, middle_x - reach_x + 1 : middle_x + reach_x].reshape(-1, 3)
        brick = brick if len(brick) else pixels
    return np.clip(np.median(brick, axis=0), 0, 255).astype(np.uint8), grey


def colour_name(rgb: np.ndarray, table_brightness: float) -> str:
    """A name from SWATCHES for a white-balanced brick colour, its brightness judged against
    the table's (the same exposure lights both)."""
    hue, saturation, value = (int(v) for v in cv2.cvtColor(np.asarray(rgb, np.uint8).reshape(1, 1, 3), cv2.COLOR_RGB2HSV)[0, 0])
    brightness = value / max(table_brightness, 1.0)
    if brightness < 0.3:
        return "black"
    if saturation < 45:
        return "white" if brightness > 0.75 else "grey"
    dark = brightness < 0.5
    # OpenCV's hue runs 0..180; the bounds were set on turntable-10 and its renders by eye.
    if hue < 6 or hue >= 168:
        return "dark red" if dark else "red"
    if hue < 17:
        return "brown" if dark else "tan" if saturation < 110 else "orange"
    if hue < 29:
        return "tan" if saturation < 110 else "yellow"
    if hue < 42:
        return "lime"
    if hue < 85:
        return "dark green" if dark else "green"
    if hue < 128:
        return "bluish grey" if saturation < 110 else "dark blue" if dark else "blue"
    return "purple" if hue < 150 else "magenta"


def frame_thumbnail(frame_rgb: np.ndarray, side: int = THUMBNAIL_SIDE) -> np.ndarray:
    """The whole frame shrunk to `side` x `side` (area averaging), as the colour names read it."""
    return cv2.resize(frame_rgb, (side, side), interpolation=cv2.INTER_AREA)


def brick_colour_name(frame_rgb: np.ndarray, box: Box) -> str:
    """The colour name of the brick in `box` (frame pixels) of a full frame."""
    rgb, table = balanced_brick_rgb(frame_thumbnail(frame_rgb), box, frame_rgb.shape[:2])
    return colour_name(rgb, table)
