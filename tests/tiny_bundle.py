"""A tiny but real model bundle for tests: a Keras model converted by TFLiteConverter.

The model is a nearest-colour classifier with fixed weights: it averages the image and
scores each class by closeness to that class's colour (`class_colour`). So a test can
paint a frame in a class's colour and know the right answer, with no training. Like the
trainer's models it takes uint8 RGB and normalises inside (a Rescaling layer)."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from device.classifier.bundle import Bundle, BundleMetadata, write_bundle
from device.vision.crop import DEFAULT_MARGIN, PREPROCESSING_VERSION

# Distinct, saturated RGB colours, one per class (cycled, with growing darkness, past six).
_BASE_COLOURS = ((230, 30, 30), (30, 200, 40), (40, 50, 230), (230, 220, 30), (30, 210, 220), (220, 40, 210))
_SHARPNESS = 20.0  # softmax temperature: a painted class wins clearly


def class_colour(index: int) -> tuple[int, int, int]:
    """RGB colour the tiny model associates with class `index`."""
    base = np.array(_BASE_COLOURS[index % len(_BASE_COLOURS)], dtype=float)
    return tuple(int(v) for v in base * (0.6 ** (index // len(_BASE_COLOURS))))


def _keras_model(num_classes: int, input_hw: tuple[int, int]):
    import keras

    prototypes = np.array([class_colour(i) for i in range(num_classes)], dtype=np.float32) / 255.0
    inputs = keras.Input(shape=(*input_hw, 3))
    x = keras.layers.Rescaling(1.0 / 255.0)(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    # logits_k = s * (x . p_k - |p_k|^2 / 2): the largest is the nearest prototype.
    dense = keras.layers.Dense(num_classes)
    x = dense(x)
    dense.set_weights([_SHARPNESS * prototypes.T, -_SHARPNESS * 0.5 * (prototypes**2).sum(axis=1)])
    outputs = keras.layers.Softmax()(x)
    return keras.Model(inputs, outputs)


def _convert(model, quantization: str, input_hw: tuple[int, int]) -> bytes:
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if quantization == "int8":
        rng = np.random.default_rng(0)

        def representative():
            for i in range(16):
                colour = class_colour(i % model.output_shape[-1])
                noise = rng.integers(-40, 40, size=(1, *input_hw, 3))
                yield [np.clip(np.array(colour) + noise, 0, 255).astype(np.float32)]
            yield [np.zeros((1, *input_hw, 3), np.float32)]
            yield [np.full((1, *input_hw, 3), 255, np.float32)]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.uint8
        converter.inference_output_type = tf.uint8
    elif quantization != "float32":
        raise ValueError(f"quantization must be 'int8' or 'float32', got {quantization!r}")
    return converter.convert()


def make_tiny_bundle(
    path: Path, labels: Sequence[str], input_hw: tuple[int, int] = (32, 32), quantization: str = "int8"
) -> Bundle:
    """Write a bundle with the tiny colour model at `path` and return it loaded."""
    tflite = _convert(_keras_model(len(labels), input_hw), quantization, input_hw)
    metadata = BundleMetadata(
        input_height=input_hw[0],
        input_width=input_hw[1],
        backbone="tiny-colour-test",
        alpha=1.0,
        quantization=quantization,
        reject_threshold=0.5,
        crop_margin=DEFAULT_MARGIN,
        preprocessing_version=PREPROCESSING_VERSION,
        models={quantization: "model.tflite"},
    )
    return write_bundle(Path(path), {"model.tflite": tflite}, list(labels), metadata)
