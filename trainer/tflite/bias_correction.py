"""Bias correction for the int8 rounding of convolution weights.

Why it is needed: MobileNet's early depthwise kernels are edge detectors whose 3x3 taps
cancel (they sum to ~0), and a turntable photo is mostly plain background, so those layers
see a large constant input. Rounding the BatchNorm-folded taps to int8 breaks the
cancellation: in MobileNetV2 0.35's first depthwise layer one channel's taps sum to -0.011
instead of -0.0002, which times its mean input (~3) moves that channel's output by more
than a whole int8 step on every pixel, and the 1x1 projection after it multiplies the shift
by ~10. Measured on turntable-10 crops: rounding only the weights (activations kept float)
moves the pooled features by 24% (mean relative L1), as much as the whole int8 model does;
with this correction 4%, and the whole int8 model 13% instead of 26%.

The fix is the empirical bias correction of Nagel et al. 2019 ("Data-Free Quantization
Through Weight Equalization and Bias Correction", section 4.2): a layer's expected output
error is conv(E[x], Q(W) - W), with E[x] its input averaged over representative images, so
subtracting that from the layer's bias makes the int8 layer right on average. The float
model is left alone: only the int8 conversion sees the corrected biases.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Iterator, Sequence

import keras
import numpy as np

from trainer.train.model import CORE_NAME, FEATURES_NAME, NORMALISE_NAME

INT8_WEIGHT_MAX = 127  # TFLite int8 weights are symmetric and narrow-range: [-127, 127]
_PROBE_BATCH = 32


@dataclass(frozen=True)
class Correctable:
    """A convolution and the variable its bias correction goes into."""

    conv: keras.layers.Layer
    bn: keras.layers.BatchNormalization | None  # folded into the conv by the converter

    @property
    def bias(self) -> keras.Variable:
        """The variable that becomes the int8 conv's bias after folding."""
        return self.bn.beta if self.bn is not None else self.conv.bias

    def folded_kernel(self) -> np.ndarray:
        """The kernel as the converter quantises it, BatchNorm scale folded in, with the output
        channel (depthwise: input channel x multiplier) last."""
        kernel = keras.ops.convert_to_numpy(self.conv.kernel).astype(np.float64)
        if isinstance(self.conv, keras.layers.DepthwiseConv2D):
            kernel = kernel.reshape(*kernel.shape[:2], -1)  # (kh, kw, in * multiplier)
        if self.bn is None:
            return kernel
        variance = keras.ops.convert_to_numpy(self.bn.moving_variance).astype(np.float64)
        scale = 1.0 / np.sqrt(variance + self.bn.epsilon)
        if self.bn.scale:
            scale = scale * keras.ops.convert_to_numpy(self.bn.gamma)
        return kernel * scale


def int8_rounding_error(kernel: np.ndarray) -> np.ndarray:
    """Q(kernel) - kernel for TFLite's per-output-channel (last axis) symmetric int8 weights."""
    flat = kernel.reshape(-1, kernel.shape[-1])
    scale = np.abs(flat).max(axis=0) / INT8_WEIGHT_MAX
    scale[scale == 0] = 1.0  # an all-zero channel rounds to itself
    quantised = np.clip(np.round(kernel / scale), -INT8_WEIGHT_MAX, INT8_WEIGHT_MAX) * scale
    return quantised - kernel


def _producer(tensor) -> keras.layers.Layer:
    # Keras 3 has no public way to walk a functional graph's edges; _keras_history and
    # _inbound_nodes are what its own Functional model uses to do it.
    return tensor._keras_history.operation


def correctable_layers(backbone: keras.Model) -> list[Correctable]:
    """Every Conv2D/DepthwiseConv2D of `backbone` whose bias the converter will use: the
    following BatchNormalization's beta when the conv feeds only that layer (the converter
    folds the pair), else the conv's own bias; convs with neither are skipped."""
    consumers: dict[int, list[keras.layers.Layer]] = {}
    for layer in backbone.layers:
        for node in layer._inbound_nodes:
            for tensor in node.input_tensors:
                consumers.setdefault(id(_producer(tensor)), []).append(layer)
    found = []
    for layer in backbone.layers:
        if not isinstance(layer, (keras.layers.Conv2D, keras.layers.DepthwiseConv2D)):
            continue
        after = consumers.get(id(layer), [])
        if len(after) == 1 and isinstance(after[0], keras.layers.BatchNormalization) and after[0].center:
            found.append(Correctable(layer, after[0]))
        elif layer.use_bias:
            found.append(Correctable(layer, None))
    return found


def _mean_inputs(backbone: keras.Model, layers: list[Correctable], inputs: np.ndarray) -> list[np.ndarray]:
    """Each layer's input averaged over the images, per position and channel (float model)."""
    import tensorflow as tf

    probe = keras.Model(backbone.inputs, [item.conv.input for item in layers])

    # One traced graph for every batch size, summing before anything leaves TensorFlow:
    # eager calls that copied 52 full activation maps to NumPy took 2.7x as long.
    @tf.function(input_signature=[tf.TensorSpec([None, *inputs.shape[1:]], tf.float32)])
    def batch_sums(batch):
        return [tf.reduce_sum(output, axis=0) for output in probe(batch, training=False)]

    sums: list[np.ndarray] = []
    for start in range(0, len(inputs), _PROBE_BATCH):
        batch = [total.numpy().astype(np.float64) for total in batch_sums(inputs[start : start + _PROBE_BATCH])]
        sums = batch if not sums else [a + b for a, b in zip(sums, batch)]
    return [s / len(inputs) for s in sums]


def _output_shift(item: Correctable, mean_input: np.ndarray) -> np.ndarray:
    """E[int8 conv output - float conv output] per channel = conv(E[x], Q(W) - W), averaged
    over output positions (the conv's own padding and strides)."""
    conv = item.conv
    error = int8_rounding_error(item.folded_kernel())
    x = mean_input[None].astype(np.float32)
    options = dict(strides=conv.strides, padding=conv.padding, dilation_rate=conv.dilation_rate)
    if isinstance(conv, keras.layers.DepthwiseConv2D):
        kernel = error.reshape(conv.kernel.shape).astype(np.float32)
        shifted = keras.ops.depthwise_conv(x, kernel, **options)
    else:
        shifted = keras.ops.conv(x, error.astype(np.float32), **options)
    return keras.ops.convert_to_numpy(shifted).mean(axis=(0, 1, 2))


@contextlib.contextmanager
def int8_bias_correction(model: keras.Model, crops: Sequence[np.ndarray]) -> Iterator[int]:
    """Within the block, the backbone of `model` (a bricksort classifier) carries biases
    corrected for int8 weight rounding, measured on `crops` (uint8 training crops); the
    original biases are restored on exit. Yields the number of corrected layers."""
    if not len(crops):
        raise ValueError("bias correction needs representative crops from the training split")
    features = model.get_layer(FEATURES_NAME)
    backbone = features.get_layer(CORE_NAME)
    normalise = features.get_layer(NORMALISE_NAME)
    inputs = keras.ops.convert_to_numpy(normalise(np.stack(crops).astype(np.float32)))
    layers = correctable_layers(backbone)
    shifts = [_output_shift(item, mean) for item, mean in zip(layers, _mean_inputs(backbone, layers, inputs))]
    originals = [keras.ops.convert_to_numpy(item.bias) for item in layers]
    try:
        for item, original, shift in zip(layers, originals, shifts):
            item.bias.assign((original - shift).astype(original.dtype))
        yield len(layers)
    finally:
        for item, original in zip(layers, originals):
            item.bias.assign(original)
