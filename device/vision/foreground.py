"""Shared steps of brick detection: colour distance in Lab (the still-photo finder), shrunk
working copies, and foreground mask -> box."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from device.vision.box import Box

# Darkening counts for less than colour: shadows and small exposure drifts change L far more
# than they change a and b. Brightening counts in full: shadows never brighten, and a white
# brick on a pale table differs from it mostly in lightness.
SHADOW_WEIGHT = 0.5


def lab_distance(lab: np.ndarray, background_lab: np.ndarray) -> np.ndarray:
    """Per-pixel distance between two Lab images (or an image and a colour), darkening down-weighted."""
    return weighted_norm(np.subtract(lab, background_lab, dtype=np.float32))


# Per-pixel 3x3 maps for `cv2.transform`: the shadow weight on L alone, and the channel sum.
_SHADOW_SCALE = np.diag([SHADOW_WEIGHT, 1.0, 1.0]).astype(np.float32)
_CHANNEL_SUM = np.ones((1, 3), dtype=np.float32)


def weighted_norm(diff: np.ndarray, scratch: np.ndarray | None = None) -> np.ndarray:
    """Length of each float32 Lab difference (..., 3), darkening down-weighted. `diff` is
    overwritten; for an image, `scratch` (an array like it, e.g. from `scratch_image`) spares
    allocating another.

    max(d, w*d) is w*d exactly where d < 0 and d elsewhere, with no boolean mask pass. Images
    go through OpenCV: NumPy is several times slower on a last axis of 3 (strided or
    broadcast inner loops)."""
    if diff.ndim == 3:
        cv2.max(diff, cv2.transform(diff, _SHADOW_SCALE, dst=scratch), dst=diff)
        return cv2.sqrt(cv2.transform(cv2.multiply(diff, diff, dst=diff), _CHANNEL_SUM))
    lightness = diff[..., 0]
    np.maximum(lightness, lightness * SHADOW_WEIGHT, out=lightness)
    return np.sqrt(np.einsum("...c,...c->...", diff, diff))


_SCRATCH = threading.local()


def scratch_image(shape: tuple[int, ...], slot: int) -> np.ndarray:
    """A float32 array of `shape` that the calling thread gets back on every call with the same
    `slot`, for a result used within one detection.

    A fresh 150x150x3 float image (270 kB) lies above glibc's mmap and trim thresholds, so each
    one comes back from the kernel page by page: 250+ page faults per frame measured here, more
    time than the arithmetic. Per thread, so the trainer's worker threads never share one; a
    slot keeps only its latest shape, so photos of many sizes cannot pile them up."""
    slots = _SCRATCH.__dict__.setdefault("slots", {})
    array = slots.get(slot)
    if array is None or array.shape != shape:
        array = slots[slot] = np.empty(shape, dtype=np.float32)
    return array


def clean_mask(mask: np.ndarray, kernel_px: int, speckle_px: int | None = None) -> np.ndarray:
    """Open (drop speckle) then close (join a brick's studs, holes and faces) a 0/255 mask.
    The opening uses `speckle_px` when given (default `kernel_px`): a smaller one keeps the thin
    outline that is all a pale brick on a pale table shows."""
    if kernel_px <= 1:
        return mask
    speckle_px = kernel_px if speckle_px is None else speckle_px
    opened = cv2.morphologyEx(mask, cv2.MORPH_OPEN, ellipse_kernel(speckle_px)) if speckle_px > 1 else mask
    return cv2.morphologyEx(opened, cv2.MORPH_CLOSE, ellipse_kernel(kernel_px))


@lru_cache(maxsize=16)
def ellipse_kernel(kernel_px: int) -> np.ndarray:
    """A round structuring element `kernel_px` across (cached: every frame uses the same few)."""
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (kernel_px, kernel_px))


def hysteresis_mask(distance: np.ndarray, low: float, high: float) -> np.ndarray:
    """0/255 mask of the pixels above `low` that are connected to a pixel above `high`: a
    faint face of a brick joins its clear edges, faint noise elsewhere stays out."""
    if low >= high:
        # Every pixel above `low` is then above `high` itself: a plain threshold gives the
        # same mask without labelling components.
        return cv2.compare(distance, float(low), cv2.CMP_GT)
    weak = (distance > low).astype(np.uint8)
    count, labels = cv2.connectedComponents(weak, connectivity=8)
    keep = np.zeros(count, dtype=bool)
    keep[np.unique(labels[distance > high])] = True
    keep[0] = False
    return keep[labels].astype(np.uint8) * 255


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """Fill the regions a 0/255 mask encloses completely: the inside of an outlined brick."""
    outside = cv2.copyMakeBorder(mask, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    cv2.floodFill(outside, None, (0, 0), 255)
    return cv2.bitwise_or(mask, cv2.bitwise_not(outside[1:-1, 1:-1]))


@dataclass(frozen=True)
class Blob:
    """A connected component of a foreground mask."""

    box: Box
    area: int
    touches_border: bool
    holds_corner: bool  # covers a corner pixel of the image: the dark surround beyond a disc


def find_blobs(mask: np.ndarray, min_area: int) -> list[Blob]:
    """Every connected component of at least `min_area` pixels, largest first."""
    # Grana's block-based labelling gives the same components, labels and stats as the
    # default (Spaghetti); on these small masks it took half the time single-threaded, and
    # no longer with OpenCV's threads.
    count, labels, stats, _ = cv2.connectedComponentsWithStatsWithAlgorithm(mask, 8, cv2.CV_32S, cv2.CCL_GRANA)
    height, width = mask.shape
    corner_labels = {labels[0, 0], labels[0, -1], labels[-1, 0], labels[-1, -1]}
    # A noisy mask has hundreds of specks: drop them in one vectorised step, not one by one.
    big = 1 + np.flatnonzero(stats[1:, cv2.CC_STAT_AREA] >= min_area)  # label 0 is the background
    big = big[np.argsort(-stats[big, cv2.CC_STAT_AREA], kind="stable")]
    found = []
    for label in big.tolist():
        x, y, w, h, area = (int(v) for v in stats[label])
        touches = x == 0 or y == 0 or x + w == width or y + h == height
        found.append(Blob(Box(x, y, w, h), area, touches, label in corner_labels))
    return found


def largest_blob(mask: np.ndarray, min_area: int) -> tuple[Box, int] | None:
    """Box and pixel count of the largest blob of a 0/255 mask (largest by outline area),
    or None when it has fewer than `min_area` pixels; the count is of the mask's pixels in
    its box. For a cleaned mask of a few blobs, outlines take a fifth of the time of
    labelling every pixel (`find_blobs`)."""
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    outline = max(contours, key=cv2.contourArea)
    x, y, w, h = cv2.boundingRect(outline)
    area = cv2.countNonZero(mask[y : y + h, x : x + w])
    return (Box(x, y, w, h), area) if area >= min_area else None


def union_box(a: Box, b: Box) -> Box:
    """Smallest box holding both."""
    x0, y0 = min(a.x, b.x), min(a.y, b.y)
    x1, y1 = max(a.x + a.w, b.x + b.w), max(a.y + a.h, b.y + b.h)
    return Box(x0, y0, x1 - x0, y1 - y0)


def merge_nearby(seed: Box, others: list[Box], gap: int) -> Box:
    """Grow `seed` by every box within `gap` pixels of it, until none is left: a pale brick
    often shows as separate edge fragments around a face the camera sees as table colour."""
    merged, pending = seed, list(others)
    grew = True
    while grew:
        grew = False
        for box in list(pending):
            near_x = box.x <= merged.x + merged.w + gap and merged.x <= box.x + box.w + gap
            near_y = box.y <= merged.y + merged.h + gap and merged.y <= box.y + box.h + gap
            if near_x and near_y:
                merged, grew = union_box(merged, box), True
                pending.remove(box)
    return merged


def scale_box(box: Box, factor: float, frame_hw: tuple[int, int]) -> Box:
    """Map a box found on a resized image back to the full frame (clamped to it)."""
    frame_h, frame_w = frame_hw
    x0 = max(0, int(np.floor(box.x * factor)))
    y0 = max(0, int(np.floor(box.y * factor)))
    x1 = min(frame_w, int(np.ceil((box.x + box.w) * factor)))
    y1 = min(frame_h, int(np.ceil((box.y + box.h) * factor)))
    return Box(x0, y0, x1 - x0, y1 - y0)


def shrunk_copy(frame_rgb: np.ndarray, max_side: int) -> tuple[np.ndarray, int]:
    """Shrink a frame by the smallest whole factor that brings its longer side to at most
    `max_side`, in one bilinear resize; returns the copy and the factor that maps its pixels
    back to the frame. Both brick finders detect on it: they need no more pixels.

    A bilinear resize by a whole factor F samples every FxF block at its centre: for an even F
    each pixel is the mean of the block's middle 2x2 pixels (for F = 2, the whole block), for
    an odd F the middle pixel. Rows and columns beyond the last whole block are dropped. So
    it reads 2 rows in F where an exact block mean (INTER_AREA) reads every pixel: on cold
    600x600 frames 0.17 against 0.74 ms here, and a Pi's 1280x960 frames are 3.4 times
    bigger. Against the renderer's exact boxes the still-photo finder boxed as well or better
    from it (docs/sorting.md)."""
    height, width = frame_rgb.shape[:2]
    factor = max(1, -(-max(height, width) // max_side))
    factor = min(factor, max(1, min(height, width) // 2))  # keep at least 2 pixels a side
    if factor == 1:
        return frame_rgb, 1
    even = frame_rgb[: height - height % factor, : width - width % factor]
    return cv2.resize(even, (width // factor, height // factor), interpolation=cv2.INTER_LINEAR), factor
