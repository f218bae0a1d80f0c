"""Find the brick in a single photo that comes with no empty-turntable frame.

The background is estimated from the photo itself: the colour that dominates its border
(the turntable disc, or the white sheet of a cut-out photo), modelled as a smooth gradient
across the image because the lighting falls off across the disc. Pixels far from that model
are foreground; the largest blob that does not touch the border is the brick (with the
fragments next to it), else the largest blob at the edge that holds no image corner.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from device.vision.box import Box
from device.vision.foreground import (
    clean_mask,
    fill_holes,
    find_blobs,
    hysteresis_mask,
    lab_distance,
    merge_nearby,
    scale_box,
    to_lab,
    working_copy,
)

BORDER_STRIDE = 3  # every third border pixel is plenty for a three-parameter fit


@dataclass(frozen=True)
class StillConfig:
    """Tuning of `find_brick_in_still`; sizes are fractions of the working image's side."""

    max_side: int = 160  # detect on a copy at most this big: fast, and blind to sensor noise
    border_fraction: float = 0.06  # width of the band that samples the background
    inlier_distance: float = 18.0  # Lab distance from the border's median that still counts as background
    min_threshold: float = 14.0  # never call a pixel foreground closer than this to the background
    noise_factor: float = 3.0  # ... nor closer than this many times the border's own spread
    weak_fraction: float = 1.0  # pixels this fraction of the threshold join a blob that has clear pixels
    kernel_fraction: float = 0.03  # morphology kernel size
    min_area_fraction: float = 0.002  # smallest blob that can be a brick (or a fragment of one)
    merge_gap_fraction: float = 0.03  # fragments this close to the brick's blob belong to it

    def __post_init__(self) -> None:
        if self.max_side < 16:
            raise ValueError(f"max_side must be >= 16, got {self.max_side}")
        if not 0.0 < self.border_fraction < 0.5:
            raise ValueError(f"border_fraction must be in (0, 0.5), got {self.border_fraction}")
        for name in ("inlier_distance", "min_threshold", "noise_factor"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if not 0.0 < self.weak_fraction <= 1.0:
            raise ValueError(f"weak_fraction must be in (0, 1], got {self.weak_fraction}")
        if not 0.0 <= self.kernel_fraction < 0.5:
            raise ValueError(f"kernel_fraction must be in [0, 0.5), got {self.kernel_fraction}")
        if not 0.0 <= self.merge_gap_fraction < 1.0:
            raise ValueError(f"merge_gap_fraction must be in [0, 1), got {self.merge_gap_fraction}")
        if not 0.0 <= self.min_area_fraction < 1.0:
            raise ValueError(f"min_area_fraction must be in [0, 1), got {self.min_area_fraction}")


def _border_mask(shape_hw: tuple[int, int], band: int) -> np.ndarray:
    mask = np.zeros(shape_hw, dtype=bool)
    mask[:band], mask[-band:], mask[:, :band], mask[:, -band:] = True, True, True, True
    return mask


def _gradient_background(lab: np.ndarray, config: StillConfig) -> tuple[np.ndarray, float]:
    """Background Lab image fitted to the border's dominant colour, and that colour's spread."""
    height, width = lab.shape[:2]
    band = max(1, round(min(height, width) * config.border_fraction))
    ys, xs = np.nonzero(_border_mask((height, width), band))
    ys, xs = ys[::BORDER_STRIDE], xs[::BORDER_STRIDE]
    samples = lab[ys, xs]
    # Twice: the median of the whole border, then of the pixels near it, so a dark corner or
    # a brick at the edge cannot pull the estimate.
    inliers = np.ones(len(samples), dtype=bool)
    for _ in range(2):
        centre = np.median(samples[inliers], axis=0)
        inliers = lab_distance(samples, centre) < config.inlier_distance
        if inliers.sum() < 8:
            return np.broadcast_to(centre, lab.shape), config.min_threshold / config.noise_factor
    # A plane per channel, in coordinates scaled to [0, 1], models the light falloff.
    design = np.column_stack([np.ones(inliers.sum()), xs[inliers] / width, ys[inliers] / height]).astype(np.float32)
    coeffs = np.linalg.solve(design.T @ design, design.T @ samples[inliers])
    gx = (np.arange(width, dtype=np.float32) / width)[None, :, None]
    gy = (np.arange(height, dtype=np.float32) / height)[:, None, None]
    background = coeffs[0] + gx * coeffs[1] + gy * coeffs[2]
    residual = lab_distance(samples[inliers], design @ coeffs)
    return background.astype(np.float32), float(np.percentile(residual, 90))


def find_brick_in_still(frame_rgb: np.ndarray, config: StillConfig = StillConfig()) -> Box | None:
    """Bounding box of the brick in a uint8 RGB photo, or None when nothing stands out."""
    if frame_rgb.ndim != 3 or frame_rgb.shape[2] != 3 or frame_rgb.dtype != np.uint8:
        raise ValueError(f"expected an HxWx3 uint8 RGB frame, got shape {frame_rgb.shape} dtype {frame_rgb.dtype}")
    small, factor = working_copy(frame_rgb, config.max_side)
    lab = to_lab(small)
    background, spread = _gradient_background(lab, config)
    threshold = max(config.min_threshold, config.noise_factor * spread)
    mask = hysteresis_mask(lab_distance(lab, background), threshold * config.weak_fraction, threshold)
    side = min(small.shape[:2])
    mask = fill_holes(clean_mask(mask, round(side * config.kernel_fraction) | 1))
    blobs = find_blobs(mask, max(1, round(config.min_area_fraction * mask.size)))
    inside = [blob.box for blob in blobs if not blob.touches_border]
    if inside:
        box = merge_nearby(inside[0], inside[1:], round(side * config.merge_gap_fraction))
    else:
        # A part may reach the edge of a cut-out photo, but a blob holding a corner is the
        # dark surround beyond the turntable's disc.
        at_edge = [blob.box for blob in blobs if not blob.holds_corner]
        if not at_edge:
            return None
        box = at_edge[0]
    return scale_box(box, factor, frame_rgb.shape[:2])
