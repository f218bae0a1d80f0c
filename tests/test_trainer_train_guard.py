"""The pre-fit guard: labels, softmax output and sparse cross-entropy must agree."""
import keras
import numpy as np
import pytest

from trainer.train.guard import TrainingSetupError, check_training_setup


def head(units: int = 3, activation: str = "softmax") -> keras.Model:
    inputs = keras.Input(shape=(4,))
    return keras.Model(inputs, keras.layers.Dense(units, activation=activation)(inputs))


SPARSE = keras.losses.SparseCategoricalCrossentropy()
LABELS = np.array([0, 1, 2, 1])


def test_matching_setup_passes():
    check_training_setup(head(), LABELS, 3, SPARSE)
    check_training_setup(head(), LABELS, 3, "sparse_categorical_crossentropy")


@pytest.mark.parametrize(
    "model, labels, loss, message",
    [
        (head(), np.eye(3)[LABELS], SPARSE, "1-D"),  # one-hot labels
        (head(), LABELS.astype(np.float32), SPARSE, "integers"),
        (head(), np.array([0, 1, 3]), SPARSE, r"\[0, 3\)"),  # label out of range
        (head(), np.array([-1, 0]), SPARSE, r"\[0, 3\)"),
        (head(activation="sigmoid"), LABELS, SPARSE, "softmax"),
        (head(activation=None), LABELS, SPARSE, "softmax"),  # logits head
        (head(units=4), LABELS, SPARSE, "4 units for 3 classes"),
        (head(), LABELS, keras.losses.CategoricalCrossentropy(), "sparse categorical"),
        (head(), LABELS, "binary_crossentropy", "sparse categorical"),
        (head(), LABELS, keras.losses.SparseCategoricalCrossentropy(from_logits=True), "from_logits"),
    ],
)
def test_guard_trips_on_mismatch(model, labels, loss, message):
    with pytest.raises(TrainingSetupError, match=message):
        check_training_setup(model, labels, 3, loss)


def test_guard_looks_inside_a_nested_head():
    inputs = keras.Input(shape=(4,))
    wrapper = keras.Model(inputs, head(units=5)(inputs))
    with pytest.raises(TrainingSetupError, match="5 units"):
        check_training_setup(wrapper, LABELS, 3, SPARSE)
