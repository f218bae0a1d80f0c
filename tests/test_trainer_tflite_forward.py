"""Frozen layers' inference for the caches (trainer.tflite.forward): the float32 TFLite run
gives the Keras model's outputs, for any batch size, and converts only once it is used and
only for work that repays it."""
import numpy as np


def test_the_forward_pass_gives_the_keras_outputs_for_every_batch_size(tmp_path):
    from trainer.tflite.forward import MIN_TFLITE_INPUTS, FrozenForward
    from trainer.train.config import TrainConfig
    from trainer.train.model import build_feature_extractor, calibrate_batch_norm, split_at_stem

    features = build_feature_extractor(TrainConfig(tmp_path, tmp_path / "run", input_hw=(32, 32), weights="none"))
    images = np.random.default_rng(0).uniform(0, 255, (11, 32, 32, 3)).astype(np.float32)
    calibrate_batch_norm(features, images)  # outputs of a usable size, so relative error means something
    _, stem, _ = split_at_stem(features, 30)
    forward = FrozenForward(stem, expected_inputs=MIN_TFLITE_INPUTS)
    assert forward.use_tflite  # no GPU here
    expected = stem(images, training=False).numpy()
    outputs = np.concatenate([forward(images[start : start + 4]) for start in (0, 4, 8)])  # batches of 4, 4 and 3
    assert outputs.shape == expected.shape == (len(images), *forward.output_shape)
    # (A random backbone amplifies float rounding: the pretrained stem agreed to 2e-6.)
    np.testing.assert_allclose(outputs, expected, rtol=1e-3, atol=1e-3 * np.abs(expected).max())


def test_nothing_is_converted_until_the_first_batch(monkeypatch):
    import keras

    from trainer.tflite import convert
    from trainer.tflite.forward import MIN_TFLITE_INPUTS, FrozenForward

    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(3)(inputs))
    conversions = []
    original = convert.convert_as_is
    monkeypatch.setattr(convert, "convert_as_is", lambda *args: conversions.append(1) or original(*args))
    assert not FrozenForward(model, expected_inputs=MIN_TFLITE_INPUTS - 1).use_tflite  # too little to repay it
    forward = FrozenForward(model, expected_inputs=MIN_TFLITE_INPUTS)
    assert conversions == [] and forward.output_shape == (3,)
    batch = np.arange(20, dtype=np.float32).reshape(5, 4)
    np.testing.assert_allclose(forward(batch[:2]), model(batch[:2]).numpy(), rtol=1e-5)
    np.testing.assert_allclose(forward(batch[2:]), model(batch[2:]).numpy(), rtol=1e-5)
    assert conversions == [1]
