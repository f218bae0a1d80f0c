"""Bias correction for int8 weight rounding (trainer.tflite.bias_correction): TFLite's
per-channel weight rounding emulated, every corrected layer right on average once its
weights are rounded, and the float model given back untouched."""
import numpy as np
import pytest


def test_int8_rounding_is_per_channel_symmetric_within_half_a_step():
    from trainer.tflite.bias_correction import int8_rounding_error

    rng = np.random.default_rng(0)
    kernel = rng.normal(size=(3, 3, 4, 5)) * np.array([1e-3, 0.1, 1.0, 30.0, 0.0])
    error = int8_rounding_error(kernel)
    flat_kernel, flat_error = kernel.reshape(-1, 5), error.reshape(-1, 5)
    step = np.abs(flat_kernel).max(axis=0) / 127
    largest = np.abs(flat_kernel).argmax(axis=0)
    assert np.abs(flat_error[largest, range(5)]).max() < 1e-12  # each channel's largest weight is +-127 steps
    assert np.all(np.abs(flat_error[:, :4]) <= step[:4] / 2 + 1e-12)
    on_grid = (flat_kernel + flat_error)[:, :4] / step[:4]
    np.testing.assert_allclose(on_grid, np.round(on_grid), atol=1e-9)
    assert not error[..., 4].any()  # an all-zero channel stays zero


@pytest.fixture(scope="module")
def classifier():
    """A random-init 32x32 classifier (BatchNorm calibrated) and turntable-like crops."""
    from tiny_training import calibrated_tiny_classifier
    from trainer.train.config import TrainConfig

    return calibrated_tiny_classifier(TrainConfig(data_root=".", run_dir=".", weights="none", input_hw=(32, 32)))


def _layer_inputs(model, crops):
    """The backbone's correctable layers and each one's input on `crops` (float model)."""
    import keras

    from trainer.tflite.bias_correction import correctable_layers
    from trainer.train.model import CORE_NAME, FEATURES_NAME, NORMALISE_NAME

    features = model.get_layer(FEATURES_NAME)
    backbone = features.get_layer(CORE_NAME)
    layers = correctable_layers(backbone)
    probe = keras.Model(backbone.inputs, [item.conv.input for item in layers])
    return layers, probe(features.get_layer(NORMALISE_NAME)(crops.astype(np.float32)), training=False)


def _mean_output(item, layer_input, rounded: bool) -> np.ndarray:
    """Mean BatchNorm output per channel of one conv, its folded weights int8-rounded or not."""
    from trainer.tflite.bias_correction import int8_rounding_error

    original = item.conv.kernel.numpy()
    if rounded:
        bn = item.bn
        factor = bn.gamma.numpy() / np.sqrt(bn.moving_variance.numpy() + bn.epsilon)  # folded = kernel * factor
        error = int8_rounding_error(item.folded_kernel()) / factor
        item.conv.kernel.assign((original + error.reshape(original.shape)).astype(np.float32))
    try:
        return item.bn(item.conv(layer_input), training=False).numpy().mean(axis=(0, 1, 2))
    finally:
        item.conv.kernel.assign(original)


def test_every_corrected_layer_is_right_on_average_with_int8_weights(classifier):
    from trainer.tflite.bias_correction import int8_bias_correction

    model, crops = classifier
    layers, inputs = _layer_inputs(model, crops)
    # MobileNetV2: every convolution feeds a BatchNorm, whose beta takes the correction.
    assert len(layers) == 52 and all(item.bn is not None for item in layers)
    exact = [_mean_output(item, x, rounded=False) for item, x in zip(layers, inputs)]
    uncorrected = [_mean_output(item, x, rounded=True) - e for item, x, e in zip(layers, inputs, exact)]
    with int8_bias_correction(model, list(crops)) as corrected_count:
        corrected = [_mean_output(item, x, rounded=True) - e for item, x, e in zip(layers, inputs, exact)]
    assert corrected_count == len(layers)
    worst_before = max(np.abs(error).max() for error in uncorrected)
    worst_after = max(np.abs(error).max() for error in corrected)
    assert worst_before > 1e-3  # rounding does shift some layer's mean output here
    assert worst_after < 1e-2 * worst_before


def test_float_biases_come_back_unchanged(classifier):
    from trainer.tflite.bias_correction import int8_bias_correction

    model, crops = classifier
    layers, _ = _layer_inputs(model, crops)
    before = [item.bias.numpy().copy() for item in layers]
    with int8_bias_correction(model, list(crops)):
        assert any(not np.array_equal(item.bias.numpy(), b) for item, b in zip(layers, before))
    for item, b in zip(layers, before):
        np.testing.assert_array_equal(item.bias.numpy(), b)


def test_bias_correction_needs_crops(classifier):
    from trainer.tflite.bias_correction import int8_bias_correction

    model, _ = classifier
    with pytest.raises(ValueError, match="representative crops"):
        with int8_bias_correction(model, []):
            pass


def test_one_trace_gives_each_model_its_own_biases(classifier):
    """to_tflite traces the model once and freezes it per quantisation: the float model must
    come out as a fresh trace of the uncorrected model, the int8 one as a fresh trace of the
    corrected model (the trace reads the biases when frozen, not when traced)."""
    from trainer.tflite.bias_correction import int8_bias_correction
    from trainer.tflite.convert import convert_as_is, to_tflite

    model, crops = classifier
    representative = list(crops)
    converted = to_tflite(model, ("float32", "int8"), representative)
    with int8_bias_correction(model, representative):
        fresh_int8 = convert_as_is(model, "int8", representative)
    assert converted["float32"] == convert_as_is(model, "float32", representative)
    assert converted["int8"] == fresh_int8
    assert convert_as_is(model, "int8", representative) != fresh_int8  # the correction shows in the bytes
