"""Camera frame -> model input, the one function the trainer and the Pi both call."""
from __future__ import annotations

import numpy as np

from device.vision.box import Box
from device.vision.crop import DEFAULT_MARGIN, crop_for_model
from device.vision.still import find_brick_in_still


def model_input(
    frame_rgb: np.ndarray,
    size_hw: tuple[int, int],
    margin: float = DEFAULT_MARGIN,
    box: Box | None = None,
) -> np.ndarray:
    """Square, unsquashed crop of the brick resized to `size_hw` = (height, width), uint8 RGB.

    Without `box` the brick is found in the frame itself (`find_brick_in_still`); when nothing
    stands out the whole frame is used. Deterministic: the same frame always gives the same
    crop."""
    if box is None:
        return find_and_crop(frame_rgb, size_hw, margin)[1]
    return crop_for_model(frame_rgb, box, size_hw, margin)


def find_and_crop(frame_rgb: np.ndarray, size_hw: tuple[int, int], margin: float = DEFAULT_MARGIN) -> tuple[Box | None, np.ndarray]:
    """`model_input` of a frame without a known box, and the box the still-photo finder found
    (None: nothing stood out, the crop is the whole frame). For the audit, which shows boxes,
    and the sorter, which names the brick's colour inside its box."""
    box = find_brick_in_still(frame_rgb)
    return box, crop_for_model(frame_rgb, box, size_hw, margin)



def warm_up_frame() -> np.ndarray:
    """A small frame with one dark brick on a pale table, to warm a classifier up on: OpenCV
    builds its colour-conversion tables the first time the finder runs (~80 ms for RGB->Lab on
    a desktop CPU, more on a Pi), which would otherwise land on the first real frame."""
    frame = np.full((96, 128, 3), (205, 195, 185), np.uint8)
    frame[36:60, 50:86] = (60, 40, 30)
    return frame
