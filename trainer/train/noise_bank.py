"""Training noise for the head drawn from banks made once, not from a generator every step.

Phase 1's head trains with Gaussian noise on its 1,280 features and dropout on them and on its
hidden layer: ~180,000 random numbers a step of 64. TensorFlow's Philox generator made those
about half of phase 1's fit on a 2-core CPU. `BankedNoise` draws rows of noise and of dropout
masks once, when it is built (seeded NumPy), and each step takes a random row of each for every
example and turns the feature axis by one random amount: 2 x 64 + 2 random integers a step.
Each element is still N(0, std) noise and a keep-or-drop of probability 1 - rate, paired with
the examples at random; only the rows repeat across steps.
"""
from __future__ import annotations

import keras
import numpy as np

BANK_ROWS = 4096


@keras.saving.register_keras_serializable(package="bricksort")
class BankedNoise(keras.layers.Layer):
    """While training: (x + noise) * mask / (1 - rate), noise ~ N(0, std) and mask ~
    Bernoulli(1 - rate) per element, taken from banks drawn at build; identity otherwise.
    std 0 is dropout alone, rate 0 noise alone."""

    def __init__(self, std: float, rate: float, seed: int, rows: int = BANK_ROWS, **kwargs) -> None:
        super().__init__(**kwargs)
        if std < 0 or not 0 <= rate < 1 or rows < 1:
            raise ValueError(f"BankedNoise needs std >= 0, 0 <= rate < 1 and rows >= 1, not {std}, {rate}, {rows}")
        self.std, self.rate, self.seed, self.rows = std, rate, seed, rows
        self._draws = keras.random.SeedGenerator(seed)
        self._noise = self._masks = None

    def build(self, input_shape) -> None:
        width = int(input_shape[-1])
        rng = np.random.default_rng(self.seed)
        # Constants, not weights: checkpoints stay as they were, and nothing here is trained.
        if self.std:
            self._noise = keras.ops.convert_to_tensor(rng.normal(0.0, self.std, (self.rows, width)).astype(np.float32))
        if self.rate:
            kept = rng.random((self.rows, width)) >= self.rate
            self._masks = keras.ops.convert_to_tensor((kept / (1.0 - self.rate)).astype(np.float32))

    def restart(self) -> None:
        """Draw the same noise from here on as a layer built anew with the same seed."""
        self._draws.state.assign(np.array([self.seed, 0], dtype=self._draws.state.dtype))

    def _rows(self, bank, batch, dtype):
        """One random row of `bank` per example, turned along the features by a random amount."""
        picked = keras.ops.take(bank, keras.random.randint((batch,), 0, self.rows, seed=self._draws), axis=0)
        turn = keras.random.randint((), 0, keras.ops.shape(bank)[1], seed=self._draws)
        # float16 under mixed precision on a GPU: the banks stay float32, the rows follow the input.
        return keras.ops.cast(keras.ops.roll(picked, turn, axis=1), dtype)

    def call(self, inputs, training=False):
        if not training:
            return inputs
        batch = keras.ops.shape(inputs)[0]
        x = inputs
        if self._noise is not None:
            x = x + self._rows(self._noise, batch, inputs.dtype)
        if self._masks is not None:
            x = x * self._rows(self._masks, batch, inputs.dtype)
        return x

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "std": self.std, "rate": self.rate, "seed": self.seed, "rows": self.rows}
