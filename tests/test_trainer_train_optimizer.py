"""FusedAdam: Keras' Adam rule, run as TensorFlow's fused kernel."""
from __future__ import annotations

import keras
import numpy as np
import pytest

from trainer.train.optimizer import FusedAdam


def _fit_steps(optimizer: keras.optimizers.Optimizer, learning_rates: list[float]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(weights, optimizer variables) of a small two-layer model after one full-batch step at
    each learning rate, on fixed data: no randomness, so two optimizers see the same gradients
    as long as they compute the same updates."""
    keras.utils.set_random_seed(5)
    model = keras.Sequential([keras.Input((12,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(5)
    x, y = rng.normal(0, 1, (32, 12)).astype(np.float32), rng.integers(0, 3, 32)
    for rate in learning_rates:
        optimizer.learning_rate.assign(rate)  # as phase 2's schedule does between epochs
        model.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0)
    return model.get_weights(), [variable.numpy() for variable in optimizer.variables]


@pytest.mark.parametrize("amsgrad", [False, True], ids=["fused", "amsgrad-keras-path"])
def test_fused_adam_makes_keras_adams_updates(amsgrad):
    rates = [1e-2, 1e-2, 3e-3, 1e-3, 1e-3]
    expected_weights, expected_state = _fit_steps(keras.optimizers.Adam(1e-2, amsgrad=amsgrad), rates)
    weights, state = _fit_steps(FusedAdam(1e-2, amsgrad=amsgrad), rates)
    initial, _ = _fit_steps(FusedAdam(0.0), [0.0])
    assert not np.allclose(weights[0], initial[0])  # the steps moved the weights
    for got, want in zip(weights + state, expected_weights + expected_state):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)  # rounding: the kernel sums in its own order


def test_fused_adam_round_trips_through_its_config():
    optimizer = FusedAdam(3e-4, beta_1=0.8, epsilon=1e-6)
    restored = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    assert type(restored) is FusedAdam
    assert (float(restored.learning_rate), restored.beta_1, restored.epsilon) == pytest.approx((3e-4, 0.8, 1e-6))
