"""Frozen BatchNorm folded into the convolution before it, for phase 2's training graph.

Phase 2 trains the backbone's top layers with their BatchNorm frozen (pretrained weights).
Keras still runs each frozen BatchNorm as a multiply and an add over the whole activation,
forward and backward: ~18% of the CPU time of a phase-2 step on MobileNetV2 0.35 at 160
(docs/training.md). A frozen BatchNorm after a convolution is an affine map per output
channel, so conv -> BatchNorm equals one convolution with a scaled kernel plus a bias, where
the scaling touches only the (small) kernel. `fold_frozen_batch_norm` rebuilds a model that
way around the same variables: it computes the same function, trains the same kernels, and
the original model (which checkpoints and export use) sees every update.
"""
from __future__ import annotations

import keras
from keras import ops

_CONVOLUTIONS = (keras.layers.Conv2D, keras.layers.DepthwiseConv2D)


@keras.saving.register_keras_serializable(package="bricksort")
class FoldedConvolution(keras.layers.Layer):
    """`norm(conv(x))` for a frozen BatchNorm `norm`, computed as one convolution whose kernel
    carries the norm's per-channel scale, plus its shift. Holds no variables of its own."""

    def __init__(self, conv: keras.layers.Layer, norm: keras.layers.BatchNormalization, **kwargs) -> None:
        kwargs.setdefault("name", f"{conv.name}_folded")
        super().__init__(**kwargs)
        self.conv, self.norm = conv, norm

    def get_config(self) -> dict:
        """The two layers' configs (TensorBoard draws the model from its config)."""
        return {**super().get_config(), "conv": keras.saving.serialize_keras_object(self.conv),
                "norm": keras.saving.serialize_keras_object(self.norm)}

    @classmethod
    def from_config(cls, config: dict) -> "FoldedConvolution":
        config = dict(config)
        conv, norm = (keras.saving.deserialize_keras_object(config.pop(key)) for key in ("conv", "norm"))
        return cls(conv, norm, **config)

    def call(self, x):
        conv, norm = self.conv, self.norm
        # In float32 whatever the compute dtype: the statistics may be tiny or huge.
        scale = ops.rsqrt(ops.cast(norm.moving_variance, "float32") + norm.epsilon)
        if norm.scale:
            scale = scale * ops.cast(norm.gamma, "float32")
        shift = -ops.cast(norm.moving_mean, "float32") * scale
        if norm.center:
            shift = shift + ops.cast(norm.beta, "float32")
        if conv.use_bias:
            shift = shift + ops.cast(conv.bias, "float32") * scale
        kernel = ops.cast(conv.kernel, "float32")
        if isinstance(conv, keras.layers.DepthwiseConv2D):  # kernel (h, w, in, multiplier): output in * multiplier
            kernel = kernel * ops.reshape(scale, (1, 1, kernel.shape[2], kernel.shape[3]))
            y = ops.depthwise_conv(x, ops.cast(kernel, x.dtype), conv.strides, conv.padding, conv.data_format, conv.dilation_rate)
        else:
            y = ops.conv(x, ops.cast(kernel * scale, x.dtype), conv.strides, conv.padding, conv.data_format, conv.dilation_rate)
        return y + ops.cast(shift, x.dtype)


@keras.saving.register_keras_serializable(package="bricksort")
class FoldedAway(keras.layers.Layer):
    """Stands where a folded BatchNorm was: passes its input on."""

    def call(self, x, training=None, mask=None):
        return x


def _foldable_pairs(model: keras.Model) -> dict[int, keras.layers.BatchNormalization]:
    """id(convolution) -> the frozen BatchNorm that alone reads its output, for every
    convolution in `model`'s graph that has no activation of its own and channels last."""
    # Keras' functional graph is not public API: a Keras that lays it out otherwise gets no
    # fold (slower, never wrong), and the tests, which count the folds, say so.
    by_depth = getattr(model, "_nodes_by_depth", None)
    if not isinstance(by_depth, dict):
        return {}
    nodes = [node for group in by_depth.values() for node in group if node.operation and not node.is_input]
    readers: dict[int, int] = {}
    maker: dict[int, keras.layers.Layer] = {}
    for node in nodes:
        for tensor in node.input_tensors:
            readers[id(tensor)] = readers.get(id(tensor), 0) + 1
        for tensor in node.outputs:
            maker[id(tensor)] = node.operation
    pairs = {}
    for node in nodes:
        norm = node.operation
        if not isinstance(norm, keras.layers.BatchNormalization) or norm.trainable or len(node.input_tensors) != 1:
            continue
        source = node.input_tensors[0]
        conv = maker.get(id(source))
        if (
            isinstance(conv, _CONVOLUTIONS)
            and conv.activation in (None, keras.activations.linear)
            and conv.data_format == "channels_last"
            and norm.axis in (-1, len(source.shape) - 1)
            and readers[id(source)] == 1
        ):
            pairs[id(conv)] = norm
    return pairs


def fold_frozen_batch_norm(model: keras.Model) -> tuple[keras.Model, int]:
    """(`model` rebuilt with every frozen BatchNorm folded into the convolution it follows,
    how many were folded). Every other layer is `model`'s own, so the two share all variables;
    trainable BatchNorm (training from scratch) is left as it is."""
    pairs = _foldable_pairs(model)
    if not pairs:
        return model, 0
    folded = {id(norm) for norm in pairs.values()}

    def rebuild(layer: keras.layers.Layer) -> keras.layers.Layer:
        if id(layer) in pairs:
            return FoldedConvolution(layer, pairs[id(layer)])
        if id(layer) in folded:
            return FoldedAway(name=f"{layer.name}_folded_away")
        return layer

    return keras.models.clone_model(model, clone_function=rebuild), len(pairs)
