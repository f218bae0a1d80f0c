"""Keras classifier -> TFLite bytes: float32, and full-integer int8 with uint8 input and output."""
from __future__ import annotations

import contextlib
from typing import Sequence

import keras
import numpy as np

from trainer.data.dataset import ImageItem
from trainer.tflite.bias_correction import int8_bias_correction

QUANTIZATIONS = ("float32", "int8")
# Training crops that set the int8 activation ranges and bias corrections. Phase 2's int8
# versions (trainer.train.int8_stem) take the same crops as export, so they are exactly what
# the exported model computes.
REPRESENTATIVE_IMAGES = 200


def representative_items(train_items: list[ImageItem], count: int = REPRESENTATIVE_IMAGES) -> list[ImageItem]:
    """`count` training items spread evenly over the split's order (every class, many sessions)."""
    return train_items[:: max(1, len(train_items) // count)][:count]


def _inference_function(model: keras.Model):
    """The model's inference graph, traced once, batch size left open. Its variables are read
    when the graph is frozen (`_convert`), so one trace serves models whose weights change
    between conversions (the int8 model's corrected biases)."""
    import tensorflow as tf

    spec = tf.TensorSpec([None, *model.input_shape[1:]], tf.float32)
    return tf.function(lambda pixels: model(pixels, training=False)).get_concrete_function(spec)


def _full_range(crop: np.ndarray) -> np.ndarray:
    """`crop` with one black and one white pixel. The converter sets the input's quantisation
    from the range calibration sees: training crops that never reach 255 (turntable-10's top
    out at 242) would give it a step of 0.95, so every brighter pixel on the Pi would be clipped
    and each frame rescaled in floats before invoke(). Two pixels widen no later layer's range
    noticeably, and the input step becomes exactly one pixel value."""
    widened = crop.copy()
    widened[0, 0] = 0
    widened[-1, -1] = 255
    return widened


def convert_as_is(model: keras.Model, quantization: str, representative: Sequence[np.ndarray]) -> bytes:
    """`model` (one input, one output) as TFLite bytes, its weights as they are: `to_tflite`
    corrects a classifier's biases around this; a part of one (the phase-2 stem) is corrected
    by its caller. For "int8" the input is 0..255 pixels, as in `to_tflite`."""
    return _convert(_inference_function(model), quantization, representative)


def _convert(inference, quantization: str, representative: Sequence[np.ndarray]) -> bytes:
    """`inference` (`_inference_function`), frozen with the weights as they are now, as TFLite bytes."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    # Weights as constants: int8 calibration cannot read variables, and freezing in memory
    # takes ~0.7 s where `model.export` to a SavedModel took ~10 s here. The converter saves
    # its trackable object as a SavedModel first: the Keras model took ~6 s of tracing per
    # conversion, and the frozen graph needs nothing from it (the same bytes come out), so it
    # gets an empty one.
    frozen = convert_variables_to_constants_v2(inference)
    converter = tf.lite.TFLiteConverter.from_concrete_functions([frozen], tf.Module())
    if quantization == "int8":

        def samples():
            yield [_full_range(representative[0])[None].astype(np.float32)]
            for crop in representative[1:]:
                yield [crop[None].astype(np.float32)]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = samples
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.uint8
        converter.inference_output_type = tf.uint8
    return converter.convert()


def to_tflite(
    model: keras.Model, quantizations: Sequence[str] = QUANTIZATIONS, representative: Sequence[np.ndarray] = ()
) -> dict[str, bytes]:
    """Convert `model` (a bricksort classifier: 0..255 RGB in, probabilities out) once per
    quantisation. For "int8" every op is integer, the model takes uint8 pixels and returns
    uint8 probabilities, `representative` (uint8 crops from the training split) sets the
    activation ranges, and the backbone's biases are corrected for int8 weight rounding
    (`bias_correction`: without it int8 loses 5-7 points on turntable photos)."""
    unknown = set(quantizations) - set(QUANTIZATIONS)
    if unknown:
        raise ValueError(f"quantization must be among {QUANTIZATIONS}, got {sorted(unknown)}")
    if "int8" in quantizations and not len(representative):
        raise ValueError("int8 export needs representative crops from the training split")
    inference = _inference_function(model)
    converted = {}
    for quantization in quantizations:
        corrected = int8_bias_correction(model, representative) if quantization == "int8" else contextlib.nullcontext()
        # The int8 model has other biases than the float one: one trace, frozen for each.
        with corrected:
            converted[quantization] = _convert(inference, quantization, representative)
    return converted
