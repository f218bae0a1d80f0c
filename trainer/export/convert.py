"""Keras classifier -> TFLite bytes: float32, and full-integer int8 with uint8 input and output."""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Sequence

import keras
import numpy as np

QUANTIZATIONS = ("float32", "int8")


def _from_saved_model(saved_model: Path, quantization: str, representative: Sequence[np.ndarray]) -> bytes:
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
    """Convert `model` (0..255 RGB in, probabilities out) once per quantisation. For "int8"
    every op is integer, the model takes uint8 pixels and returns uint8 probabilities, and
    `representative` (uint8 crops from the training split) sets the activation ranges."""
    unknown = set(quantizations) - set(QUANTIZATIONS)
    if unknown:
        raise ValueError(f"quantization must be among {QUANTIZATIONS}, got {sorted(unknown)}")
    if "int8" in quantizations and not len(representative):
        raise ValueError("int8 export needs representative crops from the training split")
    with tempfile.TemporaryDirectory(prefix="bricksort-savedmodel-") as folder:
        # One SavedModel for every conversion: writing it is the slow step (~2/3 of the time).
        model.export(folder, format="tf_saved_model", verbose=False)
        return {q: _from_saved_model(Path(folder), q, representative) for q in quantizations}
