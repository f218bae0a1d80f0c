"""The preprocessing contract: camera frame + brick box -> model input.

The trainer and the Pi call this same code, so nothing can drift between training and
sorting. Pixel normalisation is *not* done here: it lives inside the model, which takes
uint8 RGB. Sizes are always (height, width).
"""
from __future__ import annotations

import cv2
import numpy as np

from device.vision.box import Box

# Bump when the output of `crop_for_model` changes for the same input: the trainer keys its
# bottleneck cache on it and bundles record it.
# 2: bilinear, not area, resampling when shrinking by less than 2x.
# 3: brick boxes found on frames whose sides the working copy's factor does not divide.
# 4: the still-photo finder's working copy is a bilinear resize by a whole factor (boxes
#    change on frames more than 320 pixels long; up to 320, e.g. turntable-10, they do not).
# 5: the still-photo finder keeps pale bricks' thin outlines (a smaller opening), prefers a far
#    bigger blob at the edge to a speck inside, and cuts a tall brick from the dark surround.
# 6: the still-photo finder models the background as a quadratic surface, not a plane: the
#    light spot on a turntable left a ring of "foreground" that boxed bricks far too big.
PREPROCESSING_VERSION = 6
DEFAULT_MARGIN = 0.15


def square_box(box: Box, frame_hw: tuple[int, int], margin: float = DEFAULT_MARGIN) -> Box:
    """Widen `box` by `margin` (fraction of its longer side, each way), make it square around
    its centre, and shift it inside the frame where it fits. A square larger than the frame
    keeps its size (the crop pads it) so the brick is never squashed."""
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    frame_h, frame_w = frame_hw
    side = int(round(max(box.w, box.h) * (1.0 + 2.0 * margin)))
    cx, cy = box.center
    x = int(round(cx - side / 2.0))
    y = int(round(cy - side / 2.0))
    # Shift rather than pad when the square fits: padding adds pixels the camera never saw.
    if side <= frame_w:
        x = min(max(x, 0), frame_w - side)
    if side <= frame_h:
        y = min(max(y, 0), frame_h - side)
    return Box(x, y, side, side)


def crop_square(frame: np.ndarray, square: Box) -> np.ndarray:
    """Cut `square` out of `frame`, replicating edge pixels where it leaves the frame."""
    frame_h, frame_w = frame.shape[:2]
    x0, y0 = max(square.x, 0), max(square.y, 0)
    x1, y1 = min(square.x + square.w, frame_w), min(square.y + square.h, frame_h)
    if x0 >= x1 or y0 >= y1:
        raise ValueError(f"crop {square} lies outside the {frame_h}x{frame_w} frame")
    patch = frame[y0:y1, x0:x1]
    pad = (y0 - square.y, square.y + square.h - y1, x0 - square.x, square.x + square.w - x1)
    if any(pad):
        patch = cv2.copyMakeBorder(patch, *pad, borderType=cv2.BORDER_REPLICATE)
    return patch


def crop_for_model(
    frame: np.ndarray,
    box: Box | None,
    size_hw: tuple[int, int],
    margin: float = DEFAULT_MARGIN,
) -> np.ndarray:
    """Model input for one frame: square padded crop around `box` (the whole frame when
    `box` is None), resized to `size_hw` = (height, width). uint8 RGB in, uint8 RGB out."""
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ValueError(f"expected an HxWx3 uint8 RGB frame, got shape {frame.shape} dtype {frame.dtype}")
    frame_h, frame_w = frame.shape[:2]
    if box is None:
        box = Box(0, 0, frame_w, frame_h)
        margin = 0.0
    patch = crop_square(frame, square_box(box, (frame_h, frame_w), margin))
    out_h, out_w = size_hw
    # Area averaging is the anti-aliased way to shrink, but off whole factors OpenCV runs it
    # on a slow generic path (5x bilinear's time on a 220 -> 160 crop). Below 2x, bilinear
    # taps still reach every source pixel, and on the turntable photos the two differ by
    # 55 dB PSNR (median; 46 dB worst): so area only from 2x down.
    interpolation = cv2.INTER_AREA if patch.shape[0] >= 2 * min(out_h, out_w) else cv2.INTER_LINEAR
    return cv2.resize(patch, (out_w, out_h), interpolation=interpolation)  # cv2 takes (width, height)
