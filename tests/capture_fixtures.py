"""Frames for capture tests: a grey turntable, empty or with a red brick at a known place."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from device.vision.box import Box

FRAME_HW = (120, 160)
TABLE_RGB = (200, 200, 190)
BRICK_RGB = (200, 30, 30)


def table_frame(brick: Box | None) -> np.ndarray:
    """An RGB frame of the table, with a solid brick filling `brick` when given."""
    frame = np.full((*FRAME_HW, 3), TABLE_RGB, np.uint8)
    if brick is not None:
        frame[brick.y : brick.y + brick.h, brick.x : brick.x + brick.w] = BRICK_RGB
    return frame


def brick_box(view: int) -> Box:
    """Where the brick appears in view `view` (it moves a little as the table turns)."""
    return Box(50 + 3 * (view % 5), 40, 40, 30)


def write_frames(folder: Path, frames: list[np.ndarray]) -> Path:
    """Lossless PNGs named in replay order."""
    folder.mkdir(parents=True, exist_ok=True)
    for index, frame in enumerate(frames):
        assert cv2.imwrite(str(folder / f"{index:04d}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    return folder
