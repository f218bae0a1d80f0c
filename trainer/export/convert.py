"""Keras classifier -> TFLite bytes: float32, and full-integer int8 with uint8 input and output."""
from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import Sequence

import keras
import numpy as np

from trainer.export.bias_correction import int8_bias_correction

QUANTIZATIONS = ("float32", "int8")


def _convert(saved_model: Path, quantization: str, representative: Sequence[np.ndarray]) -> bytes:
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model))
    if quantization == "int8":

        def samples():
            for crop in representative:
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
    converted = {}
    for quantization in quantizations:
        corrected = int8_bias_correction(model, representative) if quantization == "int8" else contextlib.nullcontext()
        # The int8 model has other biases than the float one, so each gets its own SavedModel.
        with corrected, tempfile.TemporaryDirectory(prefix="bricksort-savedmodel-") as folder:
            model.export(folder, format="tf_saved_model", verbose=False)
            converted[quantization] = _convert(Path(folder), quantization, representative)
    return converted
