"""The pre-fit guard: labels, output layer and loss must describe the same problem.

A softmax head with sparse categorical cross-entropy needs integer labels in
[0, classes); one-hot labels, a sigmoid or logits head, a unit count that is not the
class count, or a `from_logits` loss all train without error and silently learn nonsense.
"""
from __future__ import annotations

import keras
import numpy as np


class TrainingSetupError(ValueError):
    """Labels, the model's output layer and the loss do not agree."""


def _output_dense(model: keras.Model) -> keras.layers.Dense:
    layer = model.layers[-1]
    while isinstance(layer, keras.Model):  # nested head model
        layer = layer.layers[-1]
    if not isinstance(layer, keras.layers.Dense):
        raise TrainingSetupError(f"the model's last layer must be a Dense softmax layer, got {type(layer).__name__}")
    return layer


def check_training_setup(model: keras.Model, labels: np.ndarray, num_classes: int, loss: object) -> None:
    """Raise TrainingSetupError unless `labels` are integer class indices in [0, num_classes),
    the model ends in a Dense softmax of `num_classes` units, and `loss` is sparse categorical
    cross-entropy on probabilities."""
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise TrainingSetupError(f"labels must be a 1-D array of class indices (sparse), got shape {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise TrainingSetupError(f"labels must be integers (sparse class indices), got dtype {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise TrainingSetupError(
            f"labels must lie in [0, {num_classes}), got range [{labels.min()}, {labels.max()}]"
        )
    dense = _output_dense(model)
    activation = getattr(dense.activation, "__name__", str(dense.activation))
    if activation != "softmax":
        raise TrainingSetupError(f"output layer {dense.name!r} must use softmax, uses {activation}")
    if dense.units != num_classes:
        raise TrainingSetupError(f"output layer {dense.name!r} has {dense.units} units for {num_classes} classes")
    if isinstance(loss, str):
        loss = keras.losses.get(loss)
    is_sparse = isinstance(loss, keras.losses.SparseCategoricalCrossentropy) or loss is getattr(
        keras.losses, "sparse_categorical_crossentropy"
    )
    if not is_sparse:
        raise TrainingSetupError(f"loss must be sparse categorical cross-entropy, got {loss!r}")
    if getattr(loss, "from_logits", False):
        raise TrainingSetupError("loss has from_logits=True but the model outputs softmax probabilities")
