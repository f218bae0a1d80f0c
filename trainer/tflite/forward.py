"""Inference of frozen layers for the caches: on a CPU, the Keras model run as float32 TFLite.

Why: on a 2-core x86 CPU TensorFlow ran MobileNetV2 0.35's layers up to `block_5_add` at
5.0 ms per 160x160 crop (batches of 64); the same layers as float32 TFLite through XNNPACK
took 0.78 ms, their outputs equal to 2e-6 (relative). Converting costs ~6 s, paid once per
model and only when something is computed, and only for work it repays (a cold fine-tuning
run pushes ~10,000 crops through its stem; a tiny data set stays with TensorFlow). With a
GPU, TensorFlow keeps the work (TFLite would run on the CPU).
"""
from __future__ import annotations

import os
from typing import Callable

import keras
import numpy as np

# Fewest inputs a caller expects before converting pays: ~6 s of conversion against ~4 ms
# saved per crop at MobileNetV2's early layers.
MIN_TFLITE_INPUTS = 1500


class FrozenForward:
    """`model`'s outputs (inference mode) for a batch of inputs. `expected_inputs`: how many
    the caller may run through it in all; from MIN_TFLITE_INPUTS on, and with no GPU, the model
    is converted to TFLite on the first call."""

    def __init__(self, model: keras.Model, expected_inputs: int) -> None:
        self.model = model
        self.use_tflite = expected_inputs >= MIN_TFLITE_INPUTS and not _has_gpu()
        self._run: Callable[[np.ndarray], np.ndarray] | None = None

    @property
    def output_shape(self) -> tuple[int, ...]:
        """Shape of one output (no batch axis)."""
        return tuple(self.model.output.shape[1:])

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        if self._run is None:
            self._run = _TFLiteForward(self.model) if self.use_tflite else _tensorflow_forward(self.model)
        return self._run(np.asarray(batch, dtype=np.float32))


def interpreter_for(content: bytes):
    """A TFLite interpreter (the device's backend) for model bytes, on every core."""
    from device.classifier.interpreter import find_backend

    return find_backend().interpreter_class(model_content=content, num_threads=os.cpu_count() or 1)


def _has_gpu() -> bool:
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def _tensorflow_forward(model: keras.Model) -> Callable[[np.ndarray], np.ndarray]:
    """A compiled forward pass: several times faster than `predict` per batch."""
    import tensorflow as tf

    forward = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
    return lambda batch: forward(tf.constant(batch)).numpy()


class _TFLiteForward:
    """The model as float32 TFLite; the interpreter is resized when the batch size changes."""

    def __init__(self, model: keras.Model) -> None:
        from trainer.tflite.convert import convert_as_is

        self._interpreter = interpreter_for(convert_as_is(model, "float32", ()))
        self._input = self._interpreter.get_input_details()[0]["index"]
        self._output = self._interpreter.get_output_details()[0]["index"]
        self._batch_size = 0

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        if len(batch) != self._batch_size:
            self._interpreter.resize_tensor_input(self._input, list(batch.shape))
            self._interpreter.allocate_tensors()
            self._batch_size = len(batch)
        self._interpreter.set_tensor(self._input, batch)
        self._interpreter.invoke()
        return self._interpreter.get_tensor(self._output).copy()
