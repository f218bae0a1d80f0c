"""Which colours each part was captured in, by a coarse name for every photo's brick.

A model reads colour as readily as shape. Where one colour belongs to one part in the captures,
or a part was captured in one colour only, a brick of another colour is where it fails:
turntable-10's only green bricks are 1x4s, and the split that holds them out misreads 39 of
its 125 test 1x4s (docs/training.md, Known issues). No split of the same captures shows
that, so the audit names the colours instead.

The name comes from what the audit already caches per photo (trainer.data.analysis): the
frame's thumbnail and the still-photo finder's box. The rig's light tints every photo (pink on
turntable-10), so the thumbnail is first white-balanced on its border, the table around the
brick; then the median of the box's pixels that differ from the table is named by hue,
saturation and brightness against the table's. The names are coarse (shaded faces of a white
brick can read as grey or tan); the report shows each name's swatch beside the counts.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Sequence

import cv2
import numpy as np

from device.vision.box import Box
from trainer.data.analysis import ImageFacts

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


@dataclass(frozen=True)
class ColourConfig:
    """When the audit says a colour is one part's, or a part is one colour."""

    owned_share: float = 0.9  # a colour is one part's when this share of its photos are that part's
    one_colour_share: float = 0.9  # a part was captured in one colour when this share of its photos are
    min_photos: int = 20  # a colour (or a part) with fewer named photos is not judged

    def __post_init__(self) -> None:
        for name in ("owned_share", "one_colour_share"):
            if not 0.5 < getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in (0.5, 1], got {getattr(self, name)}")
        if self.min_photos < 1:
            raise ValueError(f"min_photos must be >= 1, got {self.min_photos}")


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


def brick_colour(fact: ImageFacts) -> str | None:
    """The colour name of the brick the still-photo finder boxed in an analysed photo; None
    when it boxed none (or the file is unreadable)."""
    if fact.box is None or fact.info is None:
        return None
    rgb, table = balanced_brick_rgb(fact.thumbnail, fact.box, (fact.info.height, fact.info.width))
    return colour_name(rgb, table)


def colour_summary(labels: Sequence[str], names: Sequence[str], classes: Sequence[str], config: ColourConfig) -> dict[str, Any]:
    """JSON-ready: photos per class and colour name, the colours that (almost) only one part
    has, and the parts captured in (almost) one colour. `labels` and `names` pair up, one per
    photo whose brick was named."""
    per_class = {name: Counter() for name in classes}
    for label, name in zip(labels, names):
        per_class[label][name] += 1
    totals = Counter(names)
    owned = []
    for name, total in totals.most_common():
        owner = max(classes, key=lambda label: per_class[label][name])
        share = per_class[owner][name] / total
        if total >= config.min_photos and len(classes) > 1 and share >= config.owned_share:
            owned.append({"colour": name, "class": owner, "photos": total, "share": round(share, 3)})
    one_colour = []
    for label in classes:
        named = sum(per_class[label].values())
        if named < config.min_photos:
            continue
        name, count = per_class[label].most_common(1)[0]
        if count / named >= config.one_colour_share:
            one_colour.append({"class": label, "colour": name, "photos": named, "share": round(count / named, 3)})
    order = list(SWATCHES)
    return {
        "note": "each brick's colour named from the pixels of its box unlike the table, white-balanced on the table; coarse",
        "per_class": {label: {n: per_class[label][n] for n in order if per_class[label][n]} for label in classes},
        "owned_by_one_class": owned,
        "one_colour_classes": one_colour,
    }
