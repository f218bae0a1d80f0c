"""Augmentation that matches what a turntable changes between bricks: the brick's heading
(any angle), the light (brightness, contrast), and where and how big it sits in the crop
(small zoom and shift). A horizontal flip makes a left-handed part look right-handed, so it
is off unless the parts have no mirror twins."""
from __future__ import annotations

import keras


def turntable_augmentation(allow_flip: bool, seed: int, strength: float = 1.0) -> keras.Sequential:
    """Random augmentation layers for 0..255 RGB batches (active only with training=True).

    `strength` scales every range (1: the full turntable set; a network learning from scratch
    learns faster from gentler changes)."""
    layers = [
        # factor 1.0 = up to a full turn
        keras.layers.RandomRotation(1.0 * strength, fill_mode="reflect", seed=seed),
        keras.layers.RandomBrightness(0.15 * strength, value_range=(0, 255), seed=seed + 1),
        keras.layers.RandomContrast(0.2 * strength, value_range=(0, 255), seed=seed + 2),
        keras.layers.RandomZoom(0.1 * strength, fill_mode="reflect", seed=seed + 3),
        keras.layers.RandomTranslation(0.05 * strength, 0.05 * strength, fill_mode="reflect", seed=seed + 4),
    ]
    if allow_flip:
        layers.append(keras.layers.RandomFlip("horizontal", seed=seed + 5))
    return keras.Sequential(layers, name="turntable_augmentation")
