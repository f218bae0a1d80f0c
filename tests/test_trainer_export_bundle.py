"""Export of the tiny run: a loadable bundle whose float TFLite matches Keras, whose int8
model agrees with it, with metadata, a calibrated threshold, and the corrupt image listed."""
import json

import numpy as np
import pytest

from tiny_training import CORRUPT_NAME, bundle_predictions, run_crops, trained_run


@pytest.fixture(scope="session")
def crops(base):
    """Every readable tiny image as the device crops it, with the tiny run's config."""
    return run_crops(trained_run(base))


def test_bundle_loads_with_metadata(bundle_dir):
    from device.classifier.bundle import load_bundle
    from device.vision.crop import PREPROCESSING_VERSION

    bundle = load_bundle(bundle_dir)
    meta = bundle.metadata
    assert bundle.labels == ["1x1", "2x4", "slope"]
    assert (meta.input_hw, meta.backbone, meta.alpha, meta.quantization) == ((32, 32), "mobilenet_v2", 0.35, "int8")
    assert meta.preprocessing_version == PREPROCESSING_VERSION and meta.crop_margin == 0.15
    assert set(meta.models) == {"int8", "float32"}
    assert len(meta.dataset_fingerprint) == 64
    assert {"test_accuracy_float32", "test_accuracy_int8", "val_reject_rate"} <= set(meta.metrics)
    assert 0.0 <= meta.reject_threshold <= 1.0
    assert {"tensorflow", "keras", "numpy"} <= set(meta.versions)


def test_int8_model_takes_and_returns_uint8(bundle_dir):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(bundle_dir / "model.tflite"))
    assert interpreter.get_input_details()[0]["dtype"] == np.uint8
    assert interpreter.get_output_details()[0]["dtype"] == np.uint8


def test_int8_model_takes_every_pixel_value_unscaled(bundle_dir, crops):
    """The tiny photos never reach 0 or 255, yet the model's input step is exactly one pixel
    value: no bright pixel is clipped and the Pi passes frames through without arithmetic."""
    from ai_edge_litert.interpreter import Interpreter

    assert crops.images.max() < 255
    interpreter = Interpreter(model_path=str(bundle_dir / "model.tflite"))
    assert interpreter.get_input_details()[0]["quantization"] == (1.0, 0)


@pytest.fixture(scope="session")
def predictions(base, bundle_dir, crops):
    """(Keras, float TFLite, int8 TFLite) probabilities of every tiny image."""
    return bundle_predictions(trained_run(base), bundle_dir, crops)


def test_float_tflite_matches_keras(crops, predictions):
    keras_p, float_p, _ = predictions
    assert len(crops.images) == 36
    np.testing.assert_allclose(float_p, keras_p, atol=1e-4)
    # Not a degenerate model that says one class for everything: the match means something.
    assert len(set(keras_p.argmax(axis=1))) > 1


@pytest.mark.xfail(
    strict=True,
    reason="known limit of the random-init test model, not of export: its untrained backbone amplifies any "
    "perturbation layer after layer (int8 vs float noise-to-signal grows ~0.03 per layer to ~0.94 at the "
    "pooled features), so int8 argmax agrees with Keras on ~60% of the tiny images; ImageNet backbones are "
    "stable (test_trainer_export_pretrained.py: 97% on the same images; docs/training.md, Known issues)",
)
def test_int8_argmax_agrees_with_keras(predictions):
    keras_p, _, int8_p = predictions
    agreement = (int8_p.argmax(axis=1) == keras_p.argmax(axis=1)).mean()
    assert agreement >= 0.9, f"int8 agrees with Keras on {agreement:.0%} of images"


def test_corrupt_image_is_listed_by_training_or_export(base, bundle_dir):
    from device.classifier.bundle import load_bundle

    run_skipped = json.loads((trained_run(base) / "skipped.json").read_text())
    listed = [entry["path"] for entry in run_skipped] + load_bundle(bundle_dir).metadata.metrics["skipped_images"]
    assert sum(CORRUPT_NAME in entry for entry in listed) == 1


def test_export_refuses_to_overwrite_a_bundle(base, bundle_dir):
    from trainer.export import export_bundle

    with pytest.raises(FileExistsError, match="already exists"):
        export_bundle(trained_run(base), bundle_dir)


def test_export_of_a_folder_that_is_not_a_run_fails_clearly(tmp_path):
    from trainer.export import export_bundle

    with pytest.raises(FileNotFoundError, match="not a bricksort training run"):
        export_bundle(tmp_path, tmp_path / "bundle")


def test_a_bundle_can_ship_its_float_model_as_the_device_default(base, tmp_path):
    from device.classifier.classifier import Classifier
    from trainer.export import export_bundle
    from trainer.export.export import ExportConfig

    bundle = export_bundle(trained_run(base), tmp_path / "float-bundle", export=ExportConfig(device_model="float32"))
    assert (bundle.metadata.quantization, bundle.metadata.metrics["device_model"]) == ("float32", "float32")
    assert set(bundle.metadata.models) == {"int8", "float32"}  # the int8 file travels along
    classifier = Classifier(bundle.path)
    assert classifier.interpreter.get_input_details()[0]["dtype"] == np.float32  # the float model runs
    with pytest.raises(ValueError, match="device_model must be int8 or float32"):
        ExportConfig(device_model="float16")


def test_a_run_from_imagenet_weights_exports_offline_where_those_weights_are_not(base, bundle_dir, crops, tmp_path, offline_keras):
    """The checkpoint holds every weight, so export never fetches the backbone's starting ones."""
    import shutil

    from device.classifier.classifier import Classifier
    from trainer.export import export_bundle

    run = tmp_path / "copied-run"
    shutil.copytree(trained_run(base), run)
    config = json.loads((run / "config.json").read_text())
    config["weights"] = "imagenet"  # as if trained on a workstation that had downloaded them
    (run / "config.json").write_text(json.dumps(config))
    bundle = export_bundle(run, tmp_path / "bundle", force=True)
    for quantization in ("int8", "float32"):  # the same models as the run's own export
        exported, original = (Classifier(path, quantization=quantization) for path in (bundle.path, bundle_dir))
        np.testing.assert_array_equal(exported.probabilities(list(crops.images)), original.probabilities(list(crops.images)))


def test_the_bundle_carries_the_colours_training_named_and_an_older_run_has_them_named_at_export(base, bundle_dir, tmp_path):
    import shutil

    from device.classifier.bundle import load_bundle
    from trainer.data.split import Split
    from trainer.export.export import export_bundle

    run = trained_run(base)
    named = json.loads((run / "part_colours.json").read_text())
    split = Split.load(run / "split.json", base / "data")
    assert set(named) == {item.label for item in split.train}
    assert sum(sum(colours.values()) for colours in named.values()) == len(split.train) - 1  # all but the corrupt photo
    assert load_bundle(bundle_dir).metadata.part_colours == named
    older = shutil.copytree(run, tmp_path / "older-run")
    (older / "part_colours.json").unlink()
    assert export_bundle(older, tmp_path / "bundle", force=True).metadata.part_colours == named
