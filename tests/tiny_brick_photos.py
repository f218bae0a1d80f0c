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
                seed: int = 0) -> np.ndarray:
    """HxWx3 uint8 RGB photo of one shape centred at `centre` (x, y), with mild sensor noise."""
    rng = np.random.default_rng(seed)
    image = np.empty((size, size, 3), np.uint8)
    image[:] = BACKGROUND_RGB
    cx, cy = centre
    colour = tuple(int(c) for c in colour_rgb)
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
    noise = rng.normal(0.0, 2.0, image.shape)
    return np.clip(image + noise, 0, 255).astype(np.uint8)


def write_rgb(path: Path, rgb: np.ndarray) -> Path:
    """Write an RGB array as JPEG or PNG (by suffix) with OpenCV; returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
        raise OSError(f"cv2 could not write {path}")
    return path


def write_class_folders(root: Path, per_class: int = 6, classes: tuple[str, ...] = ("2x4", "1x1", "slope")) -> Path:
    """A plain `<class>/*.jpg` dataset of distinct photos: each image has its own colour and place."""
    rng = np.random.default_rng(1)
    for label in classes:
        for n in range(per_class):
            colour = tuple(int(v) for v in rng.integers(20, 200, 3))
            centre = (int(rng.integers(38, 58)), int(rng.integers(38, 58)))
            photo = brick_photo(SHAPES[label], colour, centre, seed=int(rng.integers(1 << 30)))
            write_rgb(root / label / f"{label}_{n}.jpg", photo)
    return root
