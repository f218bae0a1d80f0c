"""Augmentation that matches what a turntable changes between bricks: the brick's heading
(any angle), the light (brightness, contrast), and where and how big it sits in the crop
(small zoom and shift); optionally its colour. A horizontal flip makes a left-handed part
look right-handed, so it is off unless the parts have no mirror twins."""
from __future__ import annotations

import keras


def turntable_augmentation(allow_flip: bool, seed: int, strength: float = 1.0, colour: bool = False) -> keras.Sequential:
    """Random augmentation layers for 0..255 RGB batches (active only with training=True).

    `strength` scales the turntable ranges (1: the full set; a network learning from scratch
    learns faster from gentler changes). `colour` adds hue, saturation and grey changes at
    full range whatever the strength: a part is one class in every colour, and a dataset
    rarely holds every part in every colour."""
    layers = [
        # factor 1.0 = up to a full turn
        keras.layers.RandomRotation(1.0 * strength, fill_mode="reflect", seed=seed),
        keras.layers.RandomBrightness(0.15 * strength, value_range=(0, 255), seed=seed + 1),
        keras.layers.RandomContrast(0.2 * strength, value_range=(0, 255), seed=seed + 2),
        keras.layers.RandomZoom(0.1 * strength, fill_mode="reflect", seed=seed + 3),
        keras.layers.RandomTranslation(0.05 * strength, 0.05 * strength, fill_mode="reflect", seed=seed + 4),
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
