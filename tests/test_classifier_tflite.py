"""The TFLite classifier on tiny real bundles (Keras model -> TFLiteConverter -> write_bundle)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from device.classifier.bundle import METADATA_FILE, BundleError, load_bundle
from device.classifier.classifier import MAX_BATCH, Classifier, _score_converter, top_categories
from device.classifier.interpreter import BACKENDS, NoInterpreterError, find_backend
from tiny_bundle import class_colour, make_tiny_bundle
from bricksort.cli import main

LABELS = ["3001", "3003", "3039", "3660"]


@pytest.fixture(scope="session")
def int8_bundle(tmp_path_factory) -> Path:
    return make_tiny_bundle(tmp_path_factory.mktemp("int8") / "bundle", LABELS, (32, 32), "int8").path


@pytest.fixture(scope="session")
def float_bundle(tmp_path_factory) -> Path:
    return make_tiny_bundle(tmp_path_factory.mktemp("float") / "bundle", LABELS, (24, 40), "float32").path


def painted_crops(hw: tuple[int, int]) -> list[np.ndarray]:
    return [np.full((*hw, 3), class_colour(i), np.uint8) for i in range(len(LABELS))]


def copy_bundle(bundle: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(bundle, tmp_path / "copy"))


def edit_metadata(bundle: Path, **changes) -> None:
    metadata = json.loads((bundle / METADATA_FILE).read_text())
    metadata.update(changes)
    (bundle / METADATA_FILE).write_text(json.dumps(metadata))


@pytest.mark.parametrize("bundle_fixture", ["int8_bundle", "float_bundle"])
def test_each_painted_class_comes_back_as_that_class(request, bundle_fixture):
    classifier = Classifier(request.getfixturevalue(bundle_fixture), num_threads=1)
    probabilities = classifier.probabilities(painted_crops(classifier.input_hw))
    assert probabilities.shape == (4, 4) and probabilities.dtype == np.float32
    assert list(probabilities.argmax(axis=1)) == [0, 1, 2, 3]
    assert np.all(probabilities.max(axis=1) > 0.9)
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=0.02)  # dequantised, not raw uint8


def test_int8_and_float_models_agree(int8_bundle, float_bundle):
    quantised, reference = Classifier(int8_bundle), Classifier(float_bundle)
    rng = np.random.default_rng(3)
    for i in range(len(LABELS)):
        noisy = np.clip(np.array(class_colour(i)) + rng.integers(-30, 30, (48, 48, 3)), 0, 255).astype(np.uint8)
        assert quantised.classify(noisy, top_k=1)[0].label == reference.classify(noisy, top_k=1)[0].label == LABELS[i]


def test_a_batch_gives_the_same_scores_as_one_view_at_a_time(int8_bundle):
    classifier = Classifier(int8_bundle)
    assert classifier.batchable
    crops = painted_crops(classifier.input_hw)
    batched = classifier.probabilities(crops)
    singles = np.concatenate([classifier.probabilities([crop]) for crop in crops])
    assert np.array_equal(batched, singles)


def test_many_crops_are_scored_in_batches_of_at_most_max_batch(int8_bundle):
    # Export scores whole splits at once; one batch of 690 crops took 1.7 GB.
    classifier = Classifier(int8_bundle)
    crops = painted_crops(classifier.input_hw) * MAX_BATCH + painted_crops(classifier.input_hw)[:1]  # and a partial batch
    assert len(crops) > 2 * MAX_BATCH
    scores = classifier.probabilities(crops)
    assert scores.shape == (len(crops), classifier.num_classes)
    assert np.array_equal(scores, np.concatenate([classifier.probabilities([crop]) for crop in crops]))
    classifier.probabilities(crops)
    assert classifier.interpreter.get_input_details()[0]["shape"][0] <= MAX_BATCH


def test_classify_finds_the_brick_in_a_frame_and_ranks_classes(float_bundle):
    classifier = Classifier(float_bundle)
    frame = np.full((120, 160, 3), 235, np.uint8)
    frame[50:80, 70:100] = class_colour(2)  # square: the crop's margin is the same table all round
    categories = classifier.classify(frame, top_k=3)
    assert [c.label for c in categories][0] == "3039"
    assert len(categories) == 3 and categories[0].index == 2
    assert categories[0].score >= categories[1].score >= categories[2].score


def test_warm_up_classifies_the_synthetic_frame_as_classify_does(int8_bundle):
    from device.vision.preprocess import warm_up_frame

    classifier = Classifier(int8_bundle)
    warmed = classifier.warm_up()  # the bundle's margin and the full crop path, as for a real frame
    assert warmed and warmed == classifier.classify(warm_up_frame())


def test_top_categories_orders_by_score():
    ranked = top_categories(np.array([0.1, 0.6, 0.3], np.float32), ["a", "b", "c"], top_k=2)
    assert [(c.label, c.index) for c in ranked] == [("b", 1), ("c", 2)]
    with pytest.raises(ValueError, match="top_k"):
        top_categories(np.ones(3), ["a", "b", "c"], top_k=0)


def test_tied_scores_keep_class_order():
    ranked = top_categories(np.array([0.2, 0.4, 0.4, 0.0], np.float32), ["a", "b", "c", "d"], top_k=4)
    assert [c.label for c in ranked] == ["b", "c", "a", "d"]


@pytest.mark.parametrize("dtype, scale, zero_point", [(np.uint8, 1 / 256, 0), (np.int8, 1 / 256, -128), (np.int8, 0.02, 3)])
def test_quantised_scores_are_read_as_scale_times_offset_from_zero_point(dtype, scale, zero_point):
    convert = _score_converter({"dtype": dtype, "quantization": (scale, zero_point)})
    raw = np.arange(256, dtype=np.uint8).view(dtype).reshape(2, 128)
    expected = (raw.astype(np.float64) - zero_point) * scale
    scores = convert(raw)
    assert scores.dtype == np.float32 and scores.shape == raw.shape
    np.testing.assert_allclose(scores, expected, rtol=1e-6)


def test_an_output_type_the_classifier_cannot_read_is_refused():
    with pytest.raises(BundleError, match="unsupported model output type int16"):
        _score_converter({"dtype": np.int16, "quantization": (0.1, 0)})


def test_a_crop_of_the_wrong_size_is_refused(int8_bundle):
    with pytest.raises(ValueError, match=r"crop 0: expected \(32, 32, 3\) uint8"):
        Classifier(int8_bundle).probabilities([np.zeros((32, 33, 3), np.uint8)])


def test_the_backend_is_reported_and_tflite_runtime_is_skipped_beside_numpy_2(int8_bundle):
    assert Classifier(int8_bundle).backend == find_backend().name == "ai_edge_litert.interpreter"
    if int(np.__version__.split(".")[0]) >= 2:
        with pytest.raises(NoInterpreterError, match="tflite_runtime.interpreter \\(skipped: needs numpy<2"):
            find_backend((BACKENDS[1],))


def test_a_bundle_whose_labels_disagree_with_the_model_is_refused(int8_bundle, tmp_path):
    bundle = copy_bundle(int8_bundle, tmp_path)
    (bundle / "labels.json").write_text(json.dumps({label: i for i, label in enumerate(LABELS[:3])}))
    with pytest.raises(BundleError, match="4 outputs but labels.json lists 3"):
        Classifier(bundle)


def test_a_bundle_whose_input_size_disagrees_with_metadata_is_refused(int8_bundle, tmp_path):
    bundle = copy_bundle(int8_bundle, tmp_path)
    edit_metadata(bundle, input_width=48)
    with pytest.raises(BundleError, match="model input is 32x32 but metadata says 32x48"):
        Classifier(bundle)


def test_a_bundle_of_an_unknown_schema_is_refused(int8_bundle, tmp_path):
    bundle = copy_bundle(int8_bundle, tmp_path)
    edit_metadata(bundle, schema_version=99)
    with pytest.raises(BundleError, match="schema_version 99 is not supported"):
        Classifier(bundle)


def test_a_bundle_missing_its_model_file_is_refused(int8_bundle, tmp_path):
    bundle = copy_bundle(int8_bundle, tmp_path)
    (bundle / "model.tflite").unlink()
    with pytest.raises(BundleError, match="model.tflite but it is missing"):
        load_bundle(bundle)


def test_a_thread_count_the_interpreter_cannot_start_is_refused_before_it_crashes(int8_bundle):
    for threads in (0, 100_000):  # 100,000 killed the process with SIGSEGV
        with pytest.raises(ValueError, match=r"interpreter threads must be in \[1, 64\]"):
            Classifier(int8_bundle, num_threads=threads)


def test_a_corrupt_model_file_is_an_os_error(int8_bundle, tmp_path):
    bundle = copy_bundle(int8_bundle, tmp_path)
    (bundle / "model.tflite").write_bytes(b"not a flatbuffer")
    with pytest.raises(OSError, match="cannot load TFLite model"):
        Classifier(bundle)


def test_classify_cli_reports_an_unreadable_image_and_classifies_the_rest(int8_bundle, tmp_path, capsys):
    good = tmp_path / "good.png"
    frame = np.full((90, 120, 3), 235, np.uint8)
    frame[30:60, 40:70] = class_colour(1)
    cv2.imwrite(str(good), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not really a jpeg")
    assert main(["classify", str(int8_bundle), str(broken), str(good), "--top-k", "2", "--threads", "1"]) == 1
    out, err = capsys.readouterr()
    assert "broken.jpg: error: cannot decode" in err and "1 of 2 images could not be read" in err
    assert "warmed up in" in out  # before the first image, so its time is every image's
    lines = out.splitlines()
    result = next(i for i, line in enumerate(lines) if line.startswith(f"{good}: ") and line.endswith(" ms"))
    assert lines[result + 1].split()[1] == "3003" and len(lines) == result + 3


def test_classify_cli_with_a_missing_bundle_exits_2(tmp_path, capsys):
    assert main(["classify", str(tmp_path / "nowhere"), str(tmp_path / "x.png")]) == 2
    assert "does not exist" in capsys.readouterr().err
    photo = tmp_path / "photo.jpg"  # an image given first, where the bundle goes
    photo.write_bytes(b"\xff\xd8")
    assert main(["classify", str(photo), str(tmp_path / "x.png")]) == 2
    assert "photo.jpg is a file: give the model bundle's folder" in capsys.readouterr().err


def test_a_bundle_trained_on_older_crops_is_used_with_a_warning_to_re_export(int8_bundle, tmp_path, capsys):
    from device.classifier.bundle import preprocessing_warning
    from device.vision.crop import PREPROCESSING_VERSION

    assert preprocessing_warning(load_bundle(int8_bundle).metadata) is None
    old = tmp_path / "old"
    shutil.copytree(int8_bundle, old)
    meta = json.loads((old / METADATA_FILE).read_text())
    meta["preprocessing_version"] = PREPROCESSING_VERSION - 1
    (old / METADATA_FILE).write_text(json.dumps(meta))
    image = tmp_path / "brick.png"
    cv2.imwrite(str(image), np.full((60, 60, 3), 200, np.uint8))

    assert main(["classify", str(old), str(image)]) == 0
    assert f"preprocessing version {PREPROCESSING_VERSION - 1}" in capsys.readouterr().err


@pytest.mark.parametrize(("dtype", "scale", "zero_point"), [(np.uint8, 0.9490196, 0), (np.int8, 1.0, -128), (np.int8, 0.5, -10)])
def test_pixels_are_quantised_as_the_model_says_for_every_value(dtype, scale, zero_point):
    """Bundles exported before inputs were pinned to one step per pixel value still classify
    right: every pixel value maps as round(value / scale + zero_point), clipped to the type."""
    from device.classifier.classifier import _pixel_converter

    convert = _pixel_converter({"dtype": dtype, "quantization": (scale, zero_point)})
    batch = np.arange(256 * 3, dtype=np.int64).reshape(2, 8, 16, 3) % 256
    info = np.iinfo(dtype)
    expected = np.clip(np.round(batch / scale + zero_point), info.min, info.max).astype(dtype)
    got = convert(batch.astype(np.uint8))
    assert got.dtype == dtype and got.shape == batch.shape
    np.testing.assert_array_equal(got, expected)


def test_a_model_input_type_it_cannot_feed_is_refused_at_load():
    from device.classifier.classifier import _pixel_converter

    with pytest.raises(BundleError, match="unsupported model input type int16"):
        _pixel_converter({"dtype": np.int16, "quantization": (1.0, 0)})


def test_a_strided_crop_gives_the_same_scores_as_a_compact_one(int8_bundle):
    classifier = Classifier(int8_bundle)
    crop = painted_crops((32, 32))[1]
    wide = np.zeros((32, 64, 3), np.uint8)
    wide[:, ::2] = crop  # every other column: a view with a stride of two pixels
    np.testing.assert_array_equal(classifier.probabilities([wide[:, ::2]]), classifier.probabilities([crop]))


def test_classify_names_the_bricks_colour_and_says_when_the_sorter_would_reject_it(int8_bundle, tmp_path, capsys):
    bundle = copy_bundle(int8_bundle, tmp_path)
    edit_metadata(bundle, part_colours={"3003": {"red": 2}})  # 3003 photographed in red only
    image = tmp_path / "brick.png"
    frame = np.full((90, 120, 3), 128, np.uint8)
    frame[30:60, 40:70] = class_colour(1)  # the tiny model's 3003, in green
    cv2.imwrite(str(image), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    assert main(["classify", str(bundle), str(image), "--top-k", "1"]) == 0
    assert "  colour: green; no training photo shows 3003 in it: the sorter would reject this brick" in capsys.readouterr().out
    edit_metadata(bundle, part_colours={"3003": {"dark green": 2}})  # the same family
    assert main(["classify", str(bundle), str(image), "--top-k", "1"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "  colour: green"
