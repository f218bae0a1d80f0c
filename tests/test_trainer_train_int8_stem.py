"""Phase 2's int8 version (trainer.train.int8_stem): the stem quantised on its own gives the
exported int8 model's own tensor at the cut, and it is cached for the same images and
calibration. (That a cached phase 2 trains on it: tests/test_trainer_train_stem.py.)"""
from __future__ import annotations

import numpy as np
import pytest

from tiny_training import calibrated_tiny_classifier, tiny_config
from trainer.train.config import TrainConfig
from trainer.train.model import CORE_NAME, build_classifier, split_at_stem

TRAINABLE = 30  # backbone layers above the cut: MobileNetV2 cuts at a block output below them


@pytest.fixture(scope="module")
def classifier():
    """A random-init MobileNetV2 classifier at 32x32, BatchNorm calibrated on turntable-like crops."""
    config = TrainConfig(data_root=".", run_dir=".", weights="none", input_hw=(32, 32), fine_tune_layers=TRAINABLE)
    model, crops = calibrated_tiny_classifier(config)
    return config, model, crops


@pytest.fixture(scope="module")
def stem_bytes(classifier) -> bytes:
    """The classifier's stem below its top TRAINABLE layers, as int8 TFLite."""
    from trainer.train.int8_stem import float32_copy, int8_stem_tflite

    config, model, crops = classifier
    return int8_stem_tflite(float32_copy(model, config, 3), config, crops)


def _cut_tensor_of_whole_int8_model(model, crops: np.ndarray, cut: str, shape: tuple[int, ...]) -> np.ndarray:
    """Dequantised tensor at the cut layer of the whole classifier converted as export does."""
    from device.classifier.interpreter import find_backend
    from trainer.tflite.convert import to_tflite

    content = to_tflite(model, ("int8",), list(crops))["int8"]
    interpreter = find_backend().interpreter_class(model_content=content, experimental_preserve_all_tensors=True)
    source = interpreter.get_input_details()[0]
    interpreter.resize_tensor_input(source["index"], [len(crops), *crops.shape[1:]])
    interpreter.allocate_tensors()
    interpreter.set_tensor(source["index"], crops)
    interpreter.invoke()
    matches = [
        detail
        for detail in interpreter.get_tensor_details()
        if f"/{cut}" in detail["name"] and tuple(detail["shape"][1:]) == shape and detail["dtype"] == np.int8
    ]
    assert len(matches) == 1, [detail["name"] for detail in matches]
    scale, zero_point = matches[0]["quantization"]
    return (interpreter.get_tensor(matches[0]["index"]).astype(np.float32) - zero_point) * scale


def test_the_int8_stem_computes_what_the_exported_int8_model_computes_at_the_cut(classifier, stem_bytes):
    from trainer.train.int8_stem import run_int8

    config, model, crops = classifier
    version = run_int8(stem_bytes, crops, batch_size=5)  # 24 crops: the last batch is partial

    _, features, _ = build_classifier(config, 3)
    features.set_weights(model.get_layer("features").get_weights())
    cut, stem, _ = split_at_stem(features, TRAINABLE)
    assert cut != features.get_layer(CORE_NAME).layers[0].name  # a real cut, not the input
    float_version = stem.predict(crops.astype(np.float32), verbose=0)
    assert version.shape == float_version.shape
    # Not the float activations: int8 moves them, which is what phase 2 is to learn to read
    # (a random backbone moves them far more than a pretrained one: it amplifies the rounding).
    assert np.abs(version - float_version).mean() > 0.01 * np.abs(float_version).mean()
    exported = _cut_tensor_of_whole_int8_model(model, crops, cut, version.shape[1:])
    np.testing.assert_array_equal(version, exported)


def test_under_mixed_precision_the_int8_stem_is_still_built_as_export_builds_it(classifier, stem_bytes):
    import keras

    from trainer.train.int8_stem import float32_copy, int8_stem_tflite, run_int8

    config, model, crops = classifier
    keras.config.set_dtype_policy("mixed_float16")  # what phase 2 sets on a GPU
    try:
        mixed = int8_stem_tflite(float32_copy(model, config, 3), config, crops)
        assert keras.config.dtype_policy().name == "mixed_float16"  # given back as it was
    finally:
        keras.config.set_dtype_policy("float32")
    np.testing.assert_array_equal(run_int8(mixed, crops, 8), run_int8(stem_bytes, crops, 8))


def test_the_int8_version_is_cached_for_the_same_images_and_calibration(base, classifier, stem_bytes):
    from trainer.data.dataset import item_sha256s, load_dataset
    from trainer.train.int8_stem import Int8Stem, int8_version

    _, _, crops = classifier
    config = tiny_config(base, name="int8-cache")
    items = [item for item in load_dataset(config.data_root).items if item.path.name != "corrupt.jpg"]
    sha256s = item_sha256s(items[:6])
    builds = []

    def build() -> bytes:
        builds.append(1)
        return stem_bytes

    def version(calibration):
        return int8_version(sha256s, lambda: crops[:6], Int8Stem(calibration, build), config, "stem-x")

    first = version(items[6:10])
    np.testing.assert_array_equal(version(items[6:10]), first)
    assert len(builds) == 1
    # Other calibration images are another quantisation: not read from the first one's file.
    version(items[6:11])
    assert len(builds) == 2
