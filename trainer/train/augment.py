"""Augmentation that matches what a turntable changes between bricks: the brick's heading
(any angle), the light (brightness, contrast), and where and how big it sits in the crop
(small zoom and shift); optionally its colour. A horizontal flip makes a left-handed part
look right-handed, so it is off unless the parts have no mirror twins."""
from __future__ import annotations

import math

import cv2
import keras
import numpy as np
from keras import ops

# Part of the cache key of augmented images: bump it when the augmentation changes, so no
# cache serves images augmented the old way. 2: rotation, zoom and shift in one resampling.
# 3: that resampling by OpenCV (values within 1e-3 of TensorFlow's, in a quarter of the CPU time).
AUGMENTATION_VERSION = 3


def turntable_augmentation(allow_flip: bool, seed: int, strength: float = 1.0, colour: bool = False) -> keras.Sequential:
    """Random augmentation layers for 0..255 RGB batches (active only with training=True).

    `strength` scales the turntable ranges (1: the full set; a network learning from scratch
    learns faster from gentler changes). `colour` adds hue, saturation and grey changes at
    full range whatever the strength: a part is one class in every colour, and a dataset
    rarely holds every part in every colour."""
    layers = [
        RandomPose(rotation=1.0 * strength, zoom=0.1 * strength, shift=0.05 * strength, seed=seed),
        keras.layers.RandomBrightness(0.15 * strength, value_range=(0, 255), seed=seed + 1),
        keras.layers.RandomContrast(0.2 * strength, value_range=(0, 255), seed=seed + 2),
    ]
    if colour:
        layers += [
            keras.layers.RandomHue(1.0, value_range=(0, 255), seed=seed + 6),
            # RandomSaturation goes to HSV without rescaling a 0..255 image first (Keras 3.15):
            # its saturation leaves 0..1 and pixels turn negative. So it gets 0..1 pixels.
            keras.layers.Rescaling(1 / 255),
            keras.layers.RandomSaturation((0.2, 0.8), value_range=(0, 1), seed=seed + 7),  # x0.25..x4
            keras.layers.Rescaling(255),
            keras.layers.RandomGrayscale(0.25, seed=seed + 8),
        ]
    if allow_flip:
        layers.append(keras.layers.RandomFlip("horizontal", seed=seed + 5))
    return keras.Sequential(layers, name="turntable_augmentation")


def pose_transforms(angles, scales, shifts_yx, height: int, width: int):
    """Per-image affine transforms for `keras.ops.image.affine_transform` ((n, 8), mapping each
    output pixel to where it samples the input): turn by `angles` (radians, (n,)) about the
    image centre, sample a region `scales` ((n,)) times the image's size (above 1: the brick
    looks smaller), then move the content by `shifts_yx` ((n, 2), pixels, (down, right))."""
    cos, sin = ops.cos(angles) * scales, ops.sin(angles) * scales
    centre_y, centre_x = (height - 1) / 2, (width - 1) / 2
    # input = A @ (output - centre) + centre - shift
    offset_x = centre_x - cos * centre_x + sin * centre_y - shifts_yx[:, 1]
    offset_y = centre_y - sin * centre_x - cos * centre_y - shifts_yx[:, 0]
    zeros = ops.zeros_like(cos)
    return ops.stack([cos, -sin, offset_x, sin, cos, offset_y, zeros, zeros], axis=1)


def warp_batch(images: np.ndarray, transforms: np.ndarray) -> np.ndarray:
    """Each float32 image of `images` (n, h, w, c) resampled bilinearly through its affine
    transform (`pose_transforms`' rows), edges reflected (d c b a | a b c d | d c b a), as
    `keras.ops.image.affine_transform(..., "bilinear", fill_mode="reflect")` does.

    OpenCV's warp took ~0.2 ms a 160x160 crop here against TensorFlow's ~0.85 ms (a quarter
    of its CPU time), the values within 1e-3 of each other on a 0..255 image."""
    out = np.empty_like(images)
    height, width = images.shape[1:3]
    for image, transform, warped in zip(images, transforms, out):
        matrix = np.asarray(transform[:6], np.float64).reshape(2, 3)
        cv2.warpAffine(
            image, matrix, (width, height), dst=warped,
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REFLECT,
        )
    return out


class RandomPose(keras.layers.Layer):
    """Random turn, zoom and shift of a float32 batch in one bilinear resampling with reflected
    edges (`warp_batch`; TensorFlow backend: it runs as a `tf.numpy_function`).

    The same ranges as Keras' RandomRotation(rotation), RandomZoom(zoom) and
    RandomTranslation(shift, shift) in a row, in a fraction of their time
    (`benchmarks/bench_augment.py`), and each image is interpolated once instead of three
    times, so it blurs less. `rotation` is a fraction of a
    full turn either way, `zoom` of the image's size, `shift` of its height and width."""

    def __init__(self, rotation: float, zoom: float, shift: float, seed: int | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        if rotation < 0 or not 0 <= zoom < 1 or shift < 0:
            raise ValueError(f"rotation and shift must be >= 0 and zoom in [0, 1), got {rotation}, {zoom}, {shift}")
        self.rotation, self.zoom, self.shift, self.seed = rotation, zoom, shift, seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training: bool = True):
        if not training or (self.rotation == 0 and self.zoom == 0 and self.shift == 0):
            return images
        count = ops.shape(images)[0]
        height, width = images.shape[1], images.shape[2]

        def uniform(shape, bound: float):
            return keras.random.uniform(shape, -bound, bound, seed=self.seed_generator)

        angles = uniform((count,), 2 * math.pi * self.rotation)
        scales = 1.0 + uniform((count,), self.zoom)
        shifts = uniform((count, 2), self.shift) * ops.convert_to_tensor([height, width], dtype="float32")
        transforms = pose_transforms(angles, scales, shifts, height, width)
        import tensorflow as tf

        warped = tf.numpy_function(warp_batch, [ops.cast(images, "float32"), transforms], tf.float32, stateful=False)
        warped.set_shape(images.shape)
        return warped

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "rotation": self.rotation, "zoom": self.zoom, "shift": self.shift, "seed": self.seed}
