"""Tiny generated 'turntable photos' on disk for trainer data tests: a coloured shape on a
light background, written as real JPEG/PNG files with OpenCV."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

BACKGROUND_RGB = (225, 215, 220)
# Shape per class, so crops of different classes never look alike.
SHAPES = {"2x4": "wide", "1x1": "round", "slope": "triangle", "plate": "tall"}


def brick_photo(shape: str, colour_rgb: tuple[int, int, int], centre: tuple[int, int], size: int = 96, scale: int = 14,
                seed: int = 0, angle_deg: float = 0.0) -> np.ndarray:
    """HxWx3 uint8 RGB photo of one shape centred at `centre` (x, y), turned by `angle_deg`,
    with mild sensor noise."""
    rng = np.random.default_rng(seed)
    mask = np.zeros((size, size), np.uint8)
    _draw_shape(mask, shape, centre, scale)
    turn = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), angle_deg, 1.0)
    mask = cv2.warpAffine(mask, turn, (size, size), flags=cv2.INTER_NEAREST)
    image = np.empty((size, size, 3), np.uint8)
    image[:] = BACKGROUND_RGB
    image[mask > 0] = colour_rgb
    # Dark 'studs' at seeded places on the shape make every photo's crop its own.
    ys, xs = np.nonzero(mask)
    for k in rng.choice(len(ys), 6, replace=False):
        cv2.circle(image, (int(xs[k]), int(ys[k])), 3, tuple(int(c) // 3 for c in colour_rgb), -1)
    noise = rng.normal(0.0, 2.0, image.shape)
    return np.clip(image + noise, 0, 255).astype(np.uint8)


def _draw_shape(image: np.ndarray, shape: str, centre: tuple[int, int], scale: int) -> None:
    cx, cy = centre
    colour = 255
    if shape == "wide":
        cv2.rectangle(image, (cx - 2 * scale, cy - scale), (cx + 2 * scale, cy + scale), colour, -1)
    elif shape == "tall":
        cv2.rectangle(image, (cx - scale // 2, cy - 2 * scale), (cx + scale // 2, cy + 2 * scale), colour, -1)
    elif shape == "round":
        cv2.circle(image, (cx, cy), scale + 4, colour, -1)
    elif shape == "triangle":
        points = np.array([[cx - 2 * scale, cy + scale], [cx + 2 * scale, cy + scale], [cx, cy - 2 * scale]], np.int32)
        cv2.fillPoly(image, [points], colour)
    else:
        raise ValueError(f"unknown shape {shape!r}")


def write_rgb(path: Path, rgb: np.ndarray) -> Path:
    """Write an RGB array as JPEG or PNG (by suffix) with OpenCV; returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
        raise OSError(f"cv2 could not write {path}")
    return path


def write_class_folders(
    root: Path, per_class: int = 6, classes: tuple[str, ...] = ("2x4", "1x1", "slope"), seed: int = 1
) -> Path:
    """A plain `<class>/*.jpg` dataset of distinct photos: each image has its own colour, place
    and angle (the same `seed` writes the same photos)."""
    rng = np.random.default_rng(seed)
    for label in classes:
        for n in range(per_class):
            colour = tuple(int(v) for v in rng.integers(20, 200, 3))
            centre = (int(rng.integers(38, 58)), int(rng.integers(38, 58)))
            angle = n * 180.0 / per_class + float(rng.uniform(0, 10))
            photo = brick_photo(SHAPES[label], colour, centre, seed=int(rng.integers(1 << 30)), angle_deg=angle)
            write_rgb(root / label / f"{label}_{n}.jpg", photo)
    return root
