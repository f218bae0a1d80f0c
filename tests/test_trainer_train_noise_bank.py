"""Banked head noise: N(0, std) noise and keep-or-drop masks while training, nothing at inference."""
from __future__ import annotations

import keras
import numpy as np
import pytest

from trainer.train.noise_bank import BankedNoise

WIDTH = 256


def _train_pass(layer: BankedNoise, x: np.ndarray) -> np.ndarray:
    return keras.ops.convert_to_numpy(layer(x, training=True))


def test_inference_passes_features_through_unchanged():
    x = np.random.default_rng(0).normal(size=(8, WIDTH)).astype(np.float32)
    layer = BankedNoise(0.5, 0.5, seed=3)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(x)), x)


def test_training_adds_noise_of_the_asked_spread():
    x = np.ones((512, WIDTH), np.float32)
    noisy = _train_pass(BankedNoise(0.3, 0.0, seed=1), x)
    assert abs(float(np.mean(noisy - x))) < 0.01
    assert float(np.std(noisy - x)) == pytest.approx(0.3, rel=0.05)


def test_training_drops_the_asked_share_and_scales_the_rest_to_keep_the_mean():
    x = np.ones((512, WIDTH), np.float32)
    dropped = _train_pass(BankedNoise(0.0, 0.25, seed=1), x)
    assert float(np.mean(dropped == 0)) == pytest.approx(0.25, abs=0.01)
    np.testing.assert_allclose(dropped[dropped != 0], 1 / 0.75, rtol=1e-6)
    assert float(np.mean(dropped)) == pytest.approx(1.0, abs=0.02)


def test_examples_in_one_batch_and_successive_steps_get_different_noise():
    x = np.zeros((64, WIDTH), np.float32)
    layer = BankedNoise(1.0, 0.0, seed=2)
    first, second = _train_pass(layer, x), _train_pass(layer, x)
    assert len({row.tobytes() for row in first}) > 50  # 64 draws from 4,096 rows, each turned
    assert not np.array_equal(first, second)


def test_mixed_precision_inputs_get_noise_in_their_own_dtype():
    layer = BankedNoise(0.3, 0.5, seed=1, dtype="mixed_float16")  # as the head is built on a GPU
    noisy = layer(np.ones((8, WIDTH), np.float32), training=True)
    assert keras.backend.standardize_dtype(noisy.dtype) == "float16"
    assert 0 < float(np.mean(keras.ops.convert_to_numpy(noisy) == 0)) < 1


def test_the_same_seed_gives_the_same_noise():
    x = np.zeros((16, WIDTH), np.float32)
    runs = [_train_pass(BankedNoise(1.0, 0.5, seed=7), x) for _ in range(2)]
    np.testing.assert_array_equal(*runs)


def test_a_restarted_layer_draws_what_a_new_one_draws():
    x = np.zeros((16, WIDTH), np.float32)
    used = BankedNoise(1.0, 0.5, seed=7)
    first = _train_pass(used, x)
    _train_pass(used, x)
    used.restart()
    np.testing.assert_array_equal(_train_pass(used, x), first)
    np.testing.assert_array_equal(_train_pass(BankedNoise(1.0, 0.5, seed=7), x), first)


def test_a_saved_model_with_the_layer_loads_back(tmp_path):
    inputs = keras.Input((WIDTH,))
    model = keras.Model(inputs, keras.layers.Dense(3)(BankedNoise(0.1, 0.2, seed=4, rows=32)(inputs)))
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    layer = loaded.layers[1]
    assert (layer.std, layer.rate, layer.seed, layer.rows) == (0.1, 0.2, 4, 32)
    x = np.ones((2, WIDTH), np.float32)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)


@pytest.mark.parametrize(("std", "rate", "rows"), [(-0.1, 0.5, 8), (0.1, 1.0, 8), (0.1, -0.2, 8), (0.1, 0.5, 0)])
def test_bad_settings_are_refused_by_name(std, rate, rows):
    with pytest.raises(ValueError, match="BankedNoise needs std >= 0, 0 <= rate < 1"):
        BankedNoise(std, rate, seed=0, rows=rows)
