"""Seeing a brick arrive on the turntable: a learned model of the empty table, and a tracker
that says when the brick has stopped moving."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np

from device.vision.box import Box
from device.vision.foreground import (
    clean_mask,
    find_blobs,
    lab_distance,
    scale_box,
    scratch_image,
    to_lab,
    weighted_norm,
    working_copy,
)


@dataclass(frozen=True)
class DetectorConfig:
    """Tuning of `BackgroundDetector`; fractions are of the working image's shorter side or area."""

    max_side: int = 240  # detect on a copy at most this big
    threshold: float = 16.0  # Lab distance (darkening halved) from the empty table that counts as brick
    noise_factor: float = 4.0  # ... raised to this many times the per-pixel spread seen while learning
    kernel_fraction: float = 0.02  # morphology kernel size
    min_area_fraction: float = 0.001  # smallest blob that counts as a brick

    def __post_init__(self) -> None:
        if self.max_side < 16:
            raise ValueError(f"max_side must be >= 16, got {self.max_side}")
        if self.threshold <= 0 or self.noise_factor < 0:
            raise ValueError(f"threshold must be > 0 and noise_factor >= 0, got {self.threshold}, {self.noise_factor}")
        if not 0.0 <= self.kernel_fraction < 0.5:
            raise ValueError(f"kernel_fraction must be in [0, 0.5), got {self.kernel_fraction}")
        if not 0.0 <= self.min_area_fraction < 1.0:
            raise ValueError(f"min_area_fraction must be in [0, 1), got {self.min_area_fraction}")


@dataclass(frozen=True)
class Detection:
    """What one frame shows: the brick's box (None when the table is empty) and its blob area
    as a fraction of the frame."""

    box: Box | None
    area_fraction: float

    @property
    def present(self) -> bool:
        """True when a brick is on the table."""
        return self.box is not None


class BackgroundDetector:
    """Brick detection by difference from the empty turntable.

    The background is the per-pixel median of frames of the empty table in Lab, where a
    small change of light moves lightness more than colour (see `lab_distance`). Each frame
    is compared to it; the largest blob of the cleaned difference mask is the brick."""

    def __init__(self, empty_frames: Sequence[np.ndarray], config: DetectorConfig = DetectorConfig()) -> None:
        if not empty_frames:
            raise ValueError("need at least one frame of the empty turntable to learn the background")
        shapes = {frame.shape for frame in empty_frames}
        if len(shapes) != 1:
            raise ValueError(f"empty-table frames differ in shape: {sorted(shapes)}")
        self.config = config
        self.frame_shape = empty_frames[0].shape
        _check_frame(empty_frames[0])
        labs = np.stack([to_lab(working_copy(frame, config.max_side)[0]) for frame in empty_frames])
        self.background_lab = np.median(labs, axis=0)
        # Pixels that flicker while the table is empty (sensor noise, a reflection) need a
        # larger difference before they count as brick.
        spread = np.median(np.stack([lab_distance(lab, self.background_lab) for lab in labs]), axis=0)
        self.threshold = np.maximum(config.threshold, config.noise_factor * spread).astype(np.float32)

    def detect(self, frame_rgb: np.ndarray) -> Detection:
        """Find the brick in a frame of the same camera and size as the empty-table frames."""
        _check_frame(frame_rgb)
        if frame_rgb.shape != self.frame_shape:
            raise ValueError(f"frame shape {frame_rgb.shape} differs from the learned background's {self.frame_shape}")
        small, factor = working_copy(frame_rgb, self.config.max_side)
        lab = cv2.cvtColor(small, cv2.COLOR_RGB2LAB)
        # uint8 Lab minus the float32 background in one pass, into reused buffers (see scratch_image).
        diff = cv2.subtract(lab, self.background_lab, dst=scratch_image(lab.shape, 0), dtype=cv2.CV_32F)
        mask = cv2.compare(weighted_norm(diff, scratch_image(lab.shape, 1)), self.threshold, cv2.CMP_GT)
        mask = clean_mask(mask, round(min(mask.shape) * self.config.kernel_fraction) | 1)
        blobs = find_blobs(mask, max(1, round(self.config.min_area_fraction * mask.size)))
        if not blobs:
            return Detection(None, 0.0)
        return Detection(scale_box(blobs[0].box, factor, frame_rgb.shape[:2]), blobs[0].area / mask.size)


def _check_frame(frame: np.ndarray) -> None:
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ValueError(f"expected an HxWx3 uint8 RGB frame, got shape {frame.shape} dtype {frame.dtype}")


@dataclass(frozen=True)
class SettleConfig:
    """When a box counts as still: no edge moved more than `tolerance_px` over
    `frames` consecutive frames."""

    frames: int = 3
    tolerance_px: float = 3.0

    def __post_init__(self) -> None:
        if self.frames < 2:
            raise ValueError(f"frames must be >= 2, got {self.frames}")
        if self.tolerance_px < 0:
            raise ValueError(f"tolerance_px must be >= 0, got {self.tolerance_px}")


class SettleTracker:
    """Feed it each frame's box; it says when the brick has come to rest."""

    def __init__(self, config: SettleConfig = SettleConfig()) -> None:
        self.config = config
        self._recent: list[Box] = []

    def update(self, box: Box | None) -> bool:
        """Record this frame's box (None: nothing seen) and return True while the last
        `frames` boxes all lie within `tolerance_px` of one another."""
        if box is None:
            self._recent.clear()
            return False
        self._recent = [*self._recent, box][-self.config.frames :]
        if len(self._recent) < self.config.frames:
            return False
        return all(_box_shift(a, b) <= self.config.tolerance_px for a in self._recent for b in self._recent)

    def reset(self) -> None:
        """Forget the boxes seen so far (e.g. after the table turned)."""
        self._recent.clear()


def _box_shift(a: Box, b: Box) -> float:
    """Largest change of any edge between two boxes, in pixels."""
    return float(max(abs(a.x - b.x), abs(a.y - b.y), abs(a.x + a.w - b.x - b.w), abs(a.y + a.h - b.y - b.h)))
