"""`evaluate` on the tiny bundle: JSON schema, pictures and pages, and bad input."""
import json
from pathlib import Path

import numpy as np
import pytest

from tiny_training import CORRUPT_NAME
from tiny_brick_photos import write_class_folders


def test_evaluate_cli_writes_json_png_and_html(base, bundle_dir, tmp_path):
    from bricksort.cli import main

    data = base / "data"
    report_json = tmp_path / "eval.json"
    assert main(["evaluate", str(bundle_dir), str(data), "--json", str(report_json), "--out", str(tmp_path / "out")]) == 0

    report = json.loads(report_json.read_text())
    assert 0.0 <= report["accuracy"] <= 1.0
    assert report["images"] == 36  # the corrupt file is skipped, and listed
    assert len(report["skipped"]) == 1 and CORRUPT_NAME in report["skipped"][0]
    assert report["labels"] == ["1x1", "2x4", "slope"]
    matrix = np.array(report["confusion_matrix"])
    assert matrix.shape == (3, 3) and matrix.sum() == 36
    assert report["accuracy"] == pytest.approx(np.trace(matrix) / 36)
    assert report["top_k"]["1"] == pytest.approx(report["accuracy"]) and report["top_k"]["3"] == 1.0
    for label, stats in report["per_class"].items():
        assert stats["support"] == 12
        assert 0.0 <= stats["recall"] <= 1.0
    for part in ("preprocess", "inference"):
        assert report["latency_ms"][part]["mean"] > 0
    out = tmp_path / "out"
    assert (out / "confusion_matrix.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (out / "misclassified.html").read_text()
    mistakes = 36 - int(np.trace(matrix))
    assert page.count("<tr><td><img") == mistakes
    assert len(list((out / "misclassified").glob("*.png"))) == mistakes


def test_any_folder_of_class_subfolders_can_be_evaluated(bundle_dir, tmp_path):
    from trainer.evaluate import evaluate_bundle

    data = write_class_folders(tmp_path / "fresh", per_class=3, classes=("slope", "1x1"))
    report = evaluate_bundle(bundle_dir, data, quantization="float32")
    assert report.images == 6 and report.quantization == "float32"
    assert report.per_class["2x4"]["support"] == 0 and report.per_class["2x4"]["recall"] is None


def test_new_photos_of_a_single_part_can_be_evaluated(bundle_dir, tmp_path):
    from trainer.evaluate import evaluate_bundle

    data = write_class_folders(tmp_path / "slopes", per_class=4, classes=("slope",))
    report = evaluate_bundle(bundle_dir, data, out_dir=tmp_path / "out")
    assert report.images == 4 and report.per_class["slope"]["support"] == 4
    assert report.accuracy == report.per_class["slope"]["recall"]
    assert (tmp_path / "out" / "confusion_matrix.png").is_file()


def test_classes_the_bundle_does_not_know_are_an_error(bundle_dir, tmp_path):
    from trainer.evaluate import evaluate_bundle

    data = write_class_folders(tmp_path / "other", per_class=2, classes=("2x4", "plate"))
    with pytest.raises(ValueError, match="does not know: plate"):
        evaluate_bundle(bundle_dir, data)


def test_missing_data_folder_exits_2_with_a_message(bundle_dir, tmp_path, capsys):
    from bricksort.cli import main

    assert main(["evaluate", str(bundle_dir), str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_a_json_path_that_is_a_folder_or_an_out_path_that_is_a_file_is_refused_before_evaluating(base, bundle_dir, tmp_path, capsys):
    from bricksort.cli import main

    out, taken = tmp_path / "out", tmp_path / "taken.txt"
    taken.write_text("keep me")
    assert main(["evaluate", str(bundle_dir), str(base / "data"), "--json", str(tmp_path), "--out", str(out)]) == 2
    assert "is a folder: give a file name" in capsys.readouterr().err and not out.exists()
    assert main(["evaluate", str(bundle_dir), str(base / "data"), "--out", str(taken)]) == 2
    assert "is a file: give a folder" in capsys.readouterr().err and taken.read_text() == "keep me"
    nested = tmp_path / "reports" / "new" / "eval.json"  # missing folders are made
    assert main(["evaluate", str(bundle_dir), str(base / "data"), "--json", str(nested), "--out", str(out)]) == 0
    assert json.loads(nested.read_text())["images"] == 36


def test_metrics_by_hand():
    from trainer.evaluate.metrics import classification_metrics

    probabilities = np.array([[0.7, 0.2, 0.1], [0.3, 0.6, 0.1], [0.5, 0.1, 0.4], [0.1, 0.1, 0.8]])
    labels = np.array([0, 1, 2, 2])
    metrics = classification_metrics(probabilities, labels, ["a", "b", "c"], top_ks=(1, 2))
    assert metrics["accuracy"] == 0.75
    assert metrics["top_k"] == {"1": 0.75, "2": 1.0}
    assert metrics["per_class"]["a"] == {"precision": 0.5, "recall": 1.0, "support": 1}
    assert metrics["per_class"]["c"] == {"precision": 1.0, "recall": 0.5, "support": 2}
    assert metrics["confusion_matrix"] == [[1, 0, 0], [0, 1, 0], [1, 0, 1]]


def test_evaluate_says_what_the_sorters_colour_check_would_reject(bundle_dir, tmp_path):
    import shutil

    from device.vision.colour import FAMILIES, brick_colour_name
    from device.vision.still import find_brick_in_still
    from trainer.data.images import read_image_rgb
    from trainer.evaluate import evaluate_bundle

    data = write_class_folders(tmp_path / "fresh", per_class=4)
    frames = [read_image_rgb(path) for path in sorted(data.rglob("*.jpg"))]
    shown = {FAMILIES[brick_colour_name(frame, find_brick_in_still(frame))] for frame in frames}
    absent = next(name for name, family in FAMILIES.items() if family not in shown)

    def with_colours(name: str, part_colours: dict) -> Path:
        copy = shutil.copytree(bundle_dir, tmp_path / name)
        meta = json.loads((copy / "metadata.json").read_text())
        meta["part_colours"] = part_colours
        (copy / "metadata.json").write_text(json.dumps(meta))
        return copy

    assert evaluate_bundle(with_colours("none", {}), data).colour_check is None  # no part colours: no check
    # Every part photographed only in a colour no brick here has: the check rejects every answer.
    report = evaluate_bundle(with_colours("unseen", {part: {absent: 3} for part in ("1x1", "2x4", "slope")}), data)
    check = report.colour_check
    assert check["wrong"] + check["right"] == report.images == 12
    assert check["wrong_rejected"] == check["wrong"] and check["right_rejected"] == check["right"]
    # Every part photographed in every colour family: nothing to reject.
    everything = {name: 1 for name in FAMILIES}
    check = evaluate_bundle(with_colours("diverse", {part: everything for part in ("1x1", "2x4", "slope")}), data).colour_check
    assert check["wrong_rejected"] == check["right_rejected"] == 0
