"""Brick-crop descriptors: what near-duplicate search compares.

On a turntable the background fills most of the frame, so whole-frame similarity calls
every frame alike. The descriptor is computed on the device's own model crop
(`model_input`), shrunk to 16x16 and standardised per Lab channel: the standardising keeps
the structure of dark bricks (studs, holes) from drowning under the brick/background
contrast. Thresholds and their calibration: trainer/data/duplicates.py.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from device.vision.box import Box

# Bump when `crop_descriptor` changes for the same crop: cached descriptors are keyed on it.
DESCRIPTOR_VERSION = 2


@dataclass(frozen=True)
class CropConfig:
    """How crops are taken and described."""

    crop_size: int = 64  # side of the model crop the descriptor is taken from
    descriptor_size: int = 16  # side of the standardised Lab thumbnail
    frame_thumbnail_size: int = 64  # side of the raw RGB thumbnail of the whole frame (identity test)

    def __post_init__(self) -> None:
        if self.crop_size < 8:
            raise ValueError(f"crop_size must be >= 8, got {self.crop_size}")
        if not 4 <= self.descriptor_size <= self.crop_size:
            raise ValueError(f"descriptor_size must be in [4, crop_size], got {self.descriptor_size}")
        if self.frame_thumbnail_size < 4 or self.frame_thumbnail_size % 4:
            raise ValueError(f"frame_thumbnail_size must be a multiple of 4, >= 4, got {self.frame_thumbnail_size}")

    def cache_tag(self) -> str:
        """Everything that changes a descriptor, for cache keys."""
        from device.vision.crop import PREPROCESSING_VERSION

        return (
            f"p{PREPROCESSING_VERSION}-d{DESCRIPTOR_VERSION}-c{self.crop_size}"
            f"-s{self.descriptor_size}-f{self.frame_thumbnail_size}"
        )


def brick_crop(frame_rgb: np.ndarray, config: CropConfig) -> np.ndarray:
    """The device's model crop of the brick in a still photo, `crop_size` square, uint8 RGB."""
    return brick_box_and_crop(frame_rgb, config)[1]


def brick_box_and_crop(frame_rgb: np.ndarray, config: CropConfig) -> tuple[Box | None, np.ndarray]:
    """`brick_crop` and the brick's box in the frame (None when the finder saw no brick and the
    crop is the whole frame)."""
    from device.vision.preprocess import find_and_crop

    return find_and_crop(frame_rgb, (config.crop_size, config.crop_size))


def crop_descriptor(crop_rgb: np.ndarray, config: CropConfig) -> np.ndarray:
    """Unit-length float32 vector of a crop; cosine similarity near 1 means near-identical crops."""
    side = config.descriptor_size
    small = cv2.resize(crop_rgb, (side, side), interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(small, cv2.COLOR_RGB2LAB).astype(np.float32)
    # +1 keeps a flat channel (a uniform crop) from dividing by zero and amplifying noise.
    standard = (lab - lab.mean(axis=(0, 1))) / (lab.std(axis=(0, 1)) + 1.0)
    vector = standard.reshape(-1)
    vector -= vector.mean()
    norm = float(np.linalg.norm(vector))
    return (vector / norm if norm > 0 else vector).astype(np.float32)


def frame_thumbnail(frame_rgb: np.ndarray, config: CropConfig) -> np.ndarray:
    """Raw uint8 RGB thumbnail of the whole frame. Crops cannot prove two files are one photo:
    cropping removes scale (a 1x6 brick and a 1x4 plate side-on crop alike) and a re-encoded
    copy can crop differently; the whole frame of one photo stays the same."""
    side = config.frame_thumbnail_size
    return cv2.resize(frame_rgb, (side, side), interpolation=cv2.INTER_AREA)
