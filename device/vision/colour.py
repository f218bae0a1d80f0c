"""A coarse colour name for the brick in a frame: what the audit charts per part, what the
bundle records each part was photographed in, and what the sorter checks a brick against.

The rig's light tints every photo (pink on turntable-10), so the brick's colour is judged
against the table: the table's colour is the median of samples along the frame's edges, every
sample is white-balanced so the table comes out grey, and the brick's colour is the median of
the samples inside its box that differ from the table (an arch's hole shows the table), named by
hue, saturation and brightness against the table's. The box and the edges are read on a sparse
grid, so a name costs the same on a 1280x960 frame as on a 300x300 photo. The names are coarse
(shaded faces of a white brick can read as grey or tan), good for "this part was never
photographed in green", not for telling LEGO's shades apart.
"""
from __future__ import annotations

import math
from collections import Counter
from typing import Mapping, Sequence

import cv2
import numpy as np

from device.vision.box import Box

# Samples along each edge of the frame for the table's colour, and across the box's longer side.
EDGE_SAMPLES = 64
BOX_SAMPLES = 32

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


# Names a shaded face or the lamp can swap (a white brick's shadow reads grey or tan, a red's
# dark red): the sorter's colour check counts a part as seen in a colour when it was seen in
# any of the colour's family. Measured on turntable-10's eight splits' test photos: by family
# it flags 55 of the 86 wrong answers and 51 of 3,737 right ones, by name 65 and 68.
FAMILIES: dict[str, str] = {
    "white": "pale", "grey": "pale", "bluish grey": "pale", "tan": "pale",
    "black": "black", "brown": "brown", "orange": "orange", "yellow": "yellow",
    "red": "red", "dark red": "red", "magenta": "red", "lime": "lime",
    "green": "green", "dark green": "green", "blue": "blue", "dark blue": "blue", "purple": "purple",
}

# A part photographed in this many families or more has shown the model that its colour does
# not name it, so the colour check leaves it alone: a family it lacks is then more likely chance
# than a blind spot. Set between turntable-10 (1-6 families a part, each split) and the demo's
# renders of random colours (7-9 a part), where checking every part rejected 4 of 100 bricks
# the model had right (2026-12-07).
DIVERSE_FAMILIES = 7

# How far (sum over R, G, B after white balance) a sample must be from the table to count as brick.
FOREGROUND_DISTANCE = 60


def brick_rgb(frame_rgb: np.ndarray, box: Box) -> tuple[np.ndarray, float]:
    """(the brick's median RGB in `box` (frame pixels), white-balanced so the table comes out
    grey; the table's brightness, 0..255). The brick's samples are those that differ from the
    table; where too few do (a white brick on a white table), the middle of the box stands for it."""
    height, width = frame_rgb.shape[:2]
    step = max(1, max(height, width) // EDGE_SAMPLES)
    inset_y, inset_x = height // (2 * EDGE_SAMPLES), width // (2 * EDGE_SAMPLES)  # clear of a dark rim
    edges = [frame_rgb[inset_y, ::step], frame_rgb[height - 1 - inset_y, ::step],
             frame_rgb[::step, inset_x], frame_rgb[::step, width - 1 - inset_x]]
    table = np.median(np.concatenate(edges).astype(np.float32), axis=0) + 1.0  # +1: a black channel would divide by zero
    grey = float(table.mean())
    stride = max(1, math.ceil(max(box.h, box.w) / BOX_SAMPLES))
    region = frame_rgb[box.y : box.y + box.h : stride, box.x : box.x + box.w : stride].astype(np.float32) * (grey / table)
    samples = region.reshape(-1, 3)
    brick = samples[np.abs(samples - grey).sum(axis=1) > FOREGROUND_DISTANCE]
    if len(brick) < max(4, len(samples) // 10):
        reach_y, reach_x = max(1, region.shape[0] // 4), max(1, region.shape[1] // 4)
        middle_y, middle_x = region.shape[0] // 2, region.shape[1] // 2
        brick = region[middle_y - reach_y + 1 : middle_y + reach_y, middle_x - reach_x + 1 : middle_x + reach_x].reshape(-1, 3)
        brick = brick if len(brick) else samples
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
    # OpenCV's hue runs 0..180; the bounds were set by eye on montages of turntable-10 and redparts-8.
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


def brick_colour_name(frame_rgb: np.ndarray, box: Box) -> str:
    """The colour name of the brick in `box` (frame pixels) of a frame."""
    return colour_name(*brick_rgb(frame_rgb, box))


def unseen_colour(part_colours: Mapping[str, Mapping[str, int]], part: str, colours: Sequence[str]) -> str | None:
    """The colour of a brick whose views were named `colours` (the most views' name, the first
    view's on a tie) when no training photo in `part_colours` (a bundle's) showed `part` in it
    or in a colour of its family, else None. A part photographed in `DIVERSE_FAMILIES`
    families or more is not checked, nor a brick with no named view."""
    if not colours:
        return None
    colour = Counter(colours).most_common(1)[0][0]
    seen = {FAMILIES[name] for name, photos in part_colours.get(part, {}).items() if photos > 0 and name in FAMILIES}
    return None if FAMILIES[colour] in seen or len(seen) >= DIVERSE_FAMILIES else colour
