"""Find the brick in a single photo that comes with no empty-turntable frame.

The background is estimated from the photo itself: the colour that dominates its border
(the turntable disc, or the white sheet of a cut-out photo), modelled as a smooth quadratic
surface across the image because the light falls off around the lamp's spot on the disc.
Pixels far from that model are foreground; the largest blob that does not touch the border
is the brick (with the fragments next to it), else the largest blob at the edge that holds
no image corner. A brick standing tall in front of the dark surround beyond the disc merges
with it into one blob that holds corners: opening that blob with ever larger kernels cuts
the thin bridge between them.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from device.vision.box import Box
from device.vision.foreground import (
    clean_mask,
    ellipse_kernel,
    fill_holes,
    find_blobs,
    hysteresis_mask,
    lab_distance,
    merge_nearby,
    scale_box,
    scratch_image,
    weighted_norm,
    shrunk_copy,
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
    kernel_fraction: float = 0.03  # closing kernel size (joins a brick's faces and studs)
    speckle_fraction: float = 0.02  # opening kernel size: drops speckle, keeps a pale brick's thin outline
    min_area_fraction: float = 0.002  # smallest blob that can be a brick (or a fragment of one)
    merge_gap_fraction: float = 0.03  # fragments this close to the brick's blob belong to it
    edge_dominance: float = 4.0  # a blob at the edge this many times bigger beats every inside blob
    separate_fractions: tuple[float, ...] = (0.08, 0.12, 0.16, 0.2)  # openings that cut a brick from the surround

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
        for name in ("kernel_fraction", "speckle_fraction"):
            if not 0.0 <= getattr(self, name) < 0.5:
                raise ValueError(f"{name} must be in [0, 0.5), got {getattr(self, name)}")
        if self.edge_dominance < 1.0:
            raise ValueError(f"edge_dominance must be >= 1, got {self.edge_dominance}")
        if not all(0.0 < f < 1.0 for f in self.separate_fractions):
            raise ValueError(f"separate_fractions must lie in (0, 1), got {self.separate_fractions}")
        if not 0.0 <= self.merge_gap_fraction < 1.0:
            raise ValueError(f"merge_gap_fraction must be in [0, 1), got {self.merge_gap_fraction}")
        if not 0.0 <= self.min_area_fraction < 1.0:
            raise ValueError(f"min_area_fraction must be in [0, 1), got {self.min_area_fraction}")


# Shrinks the fit's curvature terms towards a plane, in proportion to the samples, so a
# border whose inliers leave a direction unconstrained (one band left, the rest dark
# surround) cannot bend the surface wildly; with the whole border in, it changes little.
CURVATURE_RIDGE = 1e-4


def _surface_terms(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """The fit's terms at coordinates scaled to [0, 1]: 1, x, y (a plane), then x^2, xy, y^2
    (curvature: the light falls off around a spot, not along a slope), each measured from the
    image's centre so the curvature terms are not near copies of the plane's."""
    xs, ys = xs - 0.5, ys - 0.5
    return np.stack([np.ones_like(xs), xs, ys, xs * xs, xs * ys, ys * ys], axis=-1)


@lru_cache(maxsize=8)
def _border_samples(height: int, width: int, band: int) -> tuple[np.ndarray, np.ndarray]:
    """Where the background is sampled in a (height, width) image: the flat pixel index of every
    BORDER_STRIDE-th pixel of the band along its edges, and the fit's terms at those pixels
    (`_surface_terms`, float64). The same for every frame of a camera."""
    mask = np.zeros((height, width), dtype=bool)
    mask[:band], mask[-band:], mask[:, :band], mask[:, -band:] = True, True, True, True
    ys, xs = np.nonzero(mask)
    ys, xs = ys[::BORDER_STRIDE], xs[::BORDER_STRIDE]
    flat_index = ys * width + xs
    design = _surface_terms(xs / width, ys / height)
    flat_index.flags.writeable = design.flags.writeable = False  # shared by every call
    return flat_index, design


@lru_cache(maxsize=8)
def _pixel_terms(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """`_surface_terms` of every pixel as two 3-channel float32 images, (1, x, y) and (x^2, xy,
    y^2), so that two `cv2.transform` calls evaluate the fitted surfaces over the whole image
    (a matrix product over a last axis of 6 is several times slower)."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    terms = _surface_terms(xs / np.float32(width), ys / np.float32(height))
    linear, curved = np.ascontiguousarray(terms[..., :3]), np.ascontiguousarray(terms[..., 3:])
    linear.flags.writeable = curved.flags.writeable = False  # shared by every call
    return linear, curved


def _gradient_background(lab: np.ndarray, config: StillConfig, out: np.ndarray) -> float:
    """Fit the background of a uint8 Lab image to the border's dominant colour, write it to
    `out` (float32 Lab, the image's shape) and return that colour's spread."""
    height, width = lab.shape[:2]
    band = max(1, round(min(height, width) * config.border_fraction))
    flat_index, design = _border_samples(height, width, band)
    samples = lab.reshape(-1, 3).take(flat_index, axis=0).astype(np.float32)  # take: 3x faster than fancy indexing
    # Twice: the median of the whole border, then of the pixels near it, so a dark corner or
    # a brick at the edge cannot pull the estimate.
    fit_samples = samples
    for _ in range(2):
        centre = _column_medians(fit_samples)
        inliers = lab_distance(samples, centre) < config.inlier_distance
        if np.count_nonzero(inliers) < 8:
            out[:] = centre
            return config.min_threshold / config.noise_factor
        fit_samples = np.compress(inliers, samples, axis=0)  # 3x faster than boolean row indexing
    # A quadratic surface per channel models the light's falloff around its spot.
    fit_design = np.compress(inliers, design, axis=0)
    normal = fit_design.T @ fit_design
    normal[3:, 3:] += np.eye(3) * (CURVATURE_RIDGE * len(fit_design))
    coeffs = np.linalg.solve(normal, fit_design.T @ fit_samples).astype(np.float32)
    linear, curved = _pixel_terms(height, width)
    cv2.transform(linear, np.ascontiguousarray(coeffs[:3].T), dst=out)
    cv2.add(out, cv2.transform(curved, np.ascontiguousarray(coeffs[3:].T)), dst=out)
    residual = lab_distance(fit_samples, fit_design.astype(np.float32) @ coeffs)
    return _percentile_90(residual)


def _column_medians(values: np.ndarray) -> np.ndarray:
    """np.median(values, axis=0) of an (n, 3) array, from one partial sort of its channels
    (a third of np.median's time, which is mostly call overhead at this size)."""
    count = len(values)
    middle = [(count - 1) // 2, count // 2]
    part = np.partition(values.T, middle, axis=1)
    return (part[:, middle[0]] + part[:, middle[1]]) * np.float32(0.5)


def _percentile_90(values: np.ndarray) -> float:
    """90th percentile with linear interpolation (np.percentile's default), from a partial sort."""
    position = 0.9 * (len(values) - 1)
    below = int(position)
    above = min(below + 1, len(values) - 1)
    part = np.partition(values, [below, above])
    return float(part[below] + (part[above] - part[below]) * (position - below))


def find_brick_in_still(frame_rgb: np.ndarray, config: StillConfig = StillConfig()) -> Box | None:
    """Bounding box of the brick in a uint8 RGB photo, or None when nothing stands out."""
    if frame_rgb.ndim != 3 or frame_rgb.shape[2] != 3 or frame_rgb.dtype != np.uint8:
        raise ValueError(f"expected an HxWx3 uint8 RGB frame, got shape {frame_rgb.shape} dtype {frame_rgb.dtype}")
    small, factor = shrunk_copy(frame_rgb, config.max_side)
    lab = cv2.cvtColor(small, cv2.COLOR_RGB2LAB)
    background = scratch_image(lab.shape, 0)
    spread = _gradient_background(lab, config, background)
    threshold = max(config.min_threshold, config.noise_factor * spread)
    # uint8 Lab minus the float32 background in one pass, into the background's own buffer.
    diff = cv2.subtract(lab, background, dst=background, dtype=cv2.CV_32F)
    distance = weighted_norm(diff, scratch_image(lab.shape, 1))
    mask = hysteresis_mask(distance, threshold * config.weak_fraction, threshold)
    side = min(small.shape[:2])
    mask = fill_holes(clean_mask(mask, _odd_px(side, config.kernel_fraction), _odd_px(side, config.speckle_fraction)))
    min_area = max(1, round(config.min_area_fraction * mask.size))
    blobs = find_blobs(mask, min_area)
    inside = [blob for blob in blobs if not blob.touches_border]
    # A part may reach the edge of a cut-out photo, but a blob holding a corner is the
    # dark surround beyond the turntable's disc.
    at_edge = [blob for blob in blobs if blob.touches_border and not blob.holds_corner]
    if inside and not (at_edge and at_edge[0].area > config.edge_dominance * inside[0].area):
        box = merge_nearby(inside[0].box, [blob.box for blob in inside[1:]], round(side * config.merge_gap_fraction))
    elif at_edge:
        box = at_edge[0].box
    else:  # no blob, or every blob holds a corner
        box = _cut_from_surround(mask, side, min_area, config) if blobs else None
        if box is None:
            return None
    return scale_box(box, factor, frame_rgb.shape[:2])


def _odd_px(side: int, fraction: float) -> int:
    """A morphology kernel of `fraction` of `side` pixels, odd so it has a centre."""
    return round(side * fraction) | 1


def _cut_from_surround(mask: np.ndarray, side: int, min_area: int, config: StillConfig) -> Box | None:
    """The largest blob that holds no corner once the mask is opened by the smallest kernel of
    `config.separate_fractions` that parts one from the surround, or None."""
    for fraction in config.separate_fractions:
        opened = cv2.morphologyEx(mask, cv2.MORPH_OPEN, ellipse_kernel(_odd_px(side, fraction)))
        parted = [blob.box for blob in find_blobs(opened, min_area) if not blob.holds_corner]
        if parted:
            return parted[0]
    return None
