"""Seeing a brick arrive on the turntable: a learned model of the empty table, and a tracker
that says when the brick has stopped moving."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np

from device.vision.box import Box
from device.vision.foreground import clean_mask, largest_blob, scale_box, shrunk_copy


@dataclass(frozen=True)
class DetectorConfig:
    """Tuning of `BackgroundDetector`; fractions are of the working image's shorter side or area."""

    # Detect on a copy shrunk by the smallest whole factor that brings its longer side to at
    # most this: 300x300 and 600x600 frames -> 150x150, 1280x960 -> 160x120. At 75x75 it took a
    # third less time, but the opening erased the faint stud line of a white brick on the pale
    # table and the sorter waited minutes for it.
    max_side: int = 160
    threshold: float = 16.0  # YCrCb change (summed over channels, darkening of luma down-weighted) that counts as brick
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

    The background is the per-pixel median of frames of the empty table in YCrCb. Each frame
    is compared to it in 8-bit integers (`change_distance`): darkening of luma counts less, as
    shadows and small exposure drifts move brightness far more than colour. The largest blob
    of the cleaned change mask is the brick.

    It runs on every frame the sorter grabs, so it is built for speed: a copy shrunk by a
    whole factor in one resize (`shrunk_copy`), a linear colour space and saturating uint8
    arithmetic, ~10 OpenCV calls and no float image. Lab, as the still-photo finder uses,
    cost more than all the rest."""

    def __init__(self, empty_frames: Sequence[np.ndarray], config: DetectorConfig = DetectorConfig()) -> None:
        if not empty_frames:
            raise ValueError("need at least one frame of the empty turntable to learn the background")
        shapes = {frame.shape for frame in empty_frames}
        if len(shapes) != 1:
            raise ValueError(f"empty-table frames differ in shape: {sorted(shapes)}")
        self.config = config
        self.frame_shape = empty_frames[0].shape
        _check_frame(empty_frames[0])
        converted = [self._luma_chroma(frame) for frame in empty_frames]
        tables = np.stack([table for table, _ in converted])
        self.box_step_px = converted[0][1]  # boxes move in steps of this many frame pixels
        self.background = np.median(tables, axis=0).round().astype(np.uint8)
        # Pixels that flicker while the table is empty (sensor noise, a reflection) need a
        # larger difference before they count as brick.
        spread = np.median(np.stack([change_distance(table, self.background) for table in tables]), axis=0)
        self.threshold = np.clip(np.maximum(config.threshold, config.noise_factor * spread), 0, 255).astype(np.uint8)
        small_hw = self.background.shape[:2]
        self._kernel_px = round(min(small_hw) * config.kernel_fraction) | 1
        self._min_area = max(1, round(config.min_area_fraction * small_hw[0] * small_hw[1]))

    def _luma_chroma(self, frame_rgb: np.ndarray) -> tuple[np.ndarray, int]:
        small, factor = shrunk_copy(frame_rgb, self.config.max_side)
        return cv2.cvtColor(small, cv2.COLOR_RGB2YCrCb), factor

    def detect(self, frame_rgb: np.ndarray) -> Detection:
        """Find the brick in a frame of the same camera and size as the empty-table frames."""
        _check_frame(frame_rgb)
        if frame_rgb.shape != self.frame_shape:
            raise ValueError(f"frame shape {frame_rgb.shape} differs from the learned background's {self.frame_shape}")
        table, factor = self._luma_chroma(frame_rgb)
        mask = cv2.compare(change_distance(table, self.background), self.threshold, cv2.CMP_GT)
        mask = clean_mask(mask, self._kernel_px)
        blob = largest_blob(mask, self._min_area)
        if blob is None:
            return Detection(None, 0.0)
        box, area = blob
        return Detection(scale_box(box, factor, frame_rgb.shape[:2]), area / mask.size)


# Weights of the per-channel changes (Y, Cr, Cb) summed into one distance. A brighter pixel
# counts in full; darker luma counts a third, as a shadow also shrinks the chroma offsets
# (it scales R, G and B alike), and luma, unlike Lab's lightness, is not compressed. So a
# shadow that keeps 85% of the table's pixel values stays below the default threshold.
LUMA_SHADOW_WEIGHT = 0.35
_BRIGHTER = np.array([[1.0, 1.0, 1.0]], dtype=np.float32)
_DARKER = np.array([[LUMA_SHADOW_WEIGHT, 1.0, 1.0]], dtype=np.float32)


def change_distance(table: np.ndarray, background: np.ndarray) -> np.ndarray:
    """Per-pixel uint8 distance between two uint8 YCrCb images: the sum of each channel's
    change, a darker luma weighted by `LUMA_SHADOW_WEIGHT`; saturates at 255."""
    brighter = cv2.transform(cv2.subtract(table, background), _BRIGHTER)  # uint8 subtract clips at 0
    darker = cv2.transform(cv2.subtract(background, table), _DARKER)
    return cv2.add(brighter, darker)


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

    def __init__(self, config: SettleConfig = SettleConfig(), step_px: int = 1) -> None:
        """`step_px`: boxes come in steps of this many pixels (`BackgroundDetector.box_step_px`);
        a tolerance below one step would call a brick on a step's edge restless for ever."""
        self.config = config
        self.tolerance_px = max(config.tolerance_px, step_px)
        self._recent: list[Box] = []

    def update(self, box: Box | None) -> bool:
        """Record this frame's box (None: nothing seen) and return True while the last
        `frames` boxes all lie within the tolerance of one another."""
        if box is None:
            self._recent.clear()
            return False
        self._recent = [*self._recent, box][-self.config.frames :]
        if len(self._recent) < self.config.frames:
            return False
        return all(_box_shift(a, b) <= self.tolerance_px for a in self._recent for b in self._recent)

    def reset(self) -> None:
        """Forget the boxes seen so far (e.g. after the table turned)."""
        self._recent.clear()


def _box_shift(a: Box, b: Box) -> float:
    """Largest change of any edge between two boxes, in pixels."""
    return float(max(abs(a.x - b.x), abs(a.y - b.y), abs(a.x + a.w - b.x - b.w), abs(a.y + a.h - b.y - b.h)))
