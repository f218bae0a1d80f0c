"""`bricksort audit` on tiny generated datasets with planted problems: it finds each one,
writes the report, and exits non-zero on a label conflict."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from bricksort.cli import main
from tiny_brick_photos import BACKGROUND_RGB, brick_photo, write_class_folders, write_rgb


def planted_dataset(root: Path) -> Path:
    """Three classes of distinct photos plus one of each problem the audit must find."""
    write_class_folders(root, per_class=6)
    shutil.copyfile(root / "2x4" / "2x4_0.jpg", root / "2x4" / "copy_of_0.jpg")  # exact duplicate
    # Near-duplicate: the same brick a pixel or two over, re-noised and re-encoded.
    original = cv2.imread(str(root / "slope" / "slope_1.jpg"))
    shifted = np.roll(original, (2, 1), axis=(0, 1))
    noisy = np.clip(shifted + np.random.default_rng(5).normal(0, 3, shifted.shape), 0, 255).astype(np.uint8)
    cv2.imwrite(str(root / "slope" / "slope_1_again.jpg"), noisy, [cv2.IMWRITE_JPEG_QUALITY, 85])
    whole = (root / "1x1" / "1x1_2.jpg").read_bytes()
    (root / "1x1" / "cut.jpg").write_bytes(whole[: len(whole) // 2])  # truncated JPEG
    (root / "1x1" / "empty.jpg").write_bytes(b"")
    (root / "2x4" / "notes.jpg").write_text("not a photo\n")
    grey = cv2.cvtColor(brick_photo("round", (40, 160, 40), (48, 48), seed=9), cv2.COLOR_RGB2GRAY)
    cv2.imwrite(str(root / "1x1" / "grey.png"), grey)
    return root


def run_audit_cli(data: Path, out: Path, cache: Path) -> int:
    return main(["audit", str(data), "--out", str(out), "--cache", str(cache), "--workers", "1", "--quiet"])


@pytest.fixture(scope="session")
def planted(tmp_path_factory):
    base = tmp_path_factory.mktemp("audit")
    data = planted_dataset(base / "data")
    code = run_audit_cli(data, base / "out", base / "cache")
    return data, base, code, json.loads((base / "out" / "audit.json").read_text())


def test_clean_dataset_exits_zero(planted):
    assert planted[2] == 0


def test_finds_the_exact_duplicate(planted):
    exact = planted[3]["exact_duplicates"]
    assert exact["groups"] == 1 and exact["redundant_copies"] == 1
    assert sorted(exact["examples"][0]) == ["2x4/2x4_0.jpg", "2x4/copy_of_0.jpg"]


def test_finds_the_shifted_noised_copy_and_nothing_else(planted):
    near = planted[3]["near_duplicates"]
    assert near["groups"] == 2  # the planted near-copy, and the exact copy (also near)
    assert near["images_in_groups"] == 4
    assert sorted(map(sorted, near["examples"])) == [
        ["2x4/2x4_0.jpg", "2x4/copy_of_0.jpg"],
        ["slope/slope_1.jpg", "slope/slope_1_again.jpg"],
    ]


def test_lists_each_unreadable_file_by_reason(planted):
    unreadable = planted[3]["unreadable"]
    assert unreadable["truncated"]["examples"] == ["1x1/cut.jpg"]
    assert unreadable["zero-byte"]["examples"] == ["1x1/empty.jpg"]
    assert unreadable["not-an-image"]["examples"] == ["2x4/notes.jpg"]
    assert planted[3]["readable_images"] == planted[3]["images"] - 3


def test_notes_the_grayscale_png(planted):
    assert planted[3]["converted"] == {"grayscale": {"count": 1, "examples": ["1x1/grey.png"]}}


def test_reports_classes_sizes_and_tiny_images(planted):
    summary = planted[3]
    assert summary["classes"] == {"1x1": 9, "2x4": 8, "slope": 7}
    assert summary["imbalance_ratio"] == 1.0  # readable images: 7 in every class
    assert summary["image_sizes"] == {"96x96": 21}
    assert summary["tiny"]["count"] == 0


def test_grouped_split_leaks_nothing(planted):
    leakage = planted[3]["split_leakage"]
    assert leakage["leaked_test"] == 0 and leakage["leaked_val"] == 0
    assert leakage["held_out_mostly_one_set"] == []  # no duplicate set here reaches 10 images


def test_writes_report_and_pictures(planted):
    out = planted[1] / "out"
    report = (out / "report.md").read_text()
    assert "exact (same bytes): 1 groups" in report and "1x1/cut.jpg" in report
    for picture in ("class_counts.png", "image_sizes.png", "near_duplicates.png"):
        image = cv2.imread(str(out / picture))
        assert image is not None and image.shape[0] > 50


def test_finds_every_brick_in_the_planted_photos(planted):
    boxes = planted[3]["brick_boxes"]
    assert boxes["not_found"]["count"] == 0
    assert boxes["off_size"]["smaller"] == boxes["off_size"]["larger"] == 0


def test_flags_a_photo_without_a_brick_and_a_box_off_its_class_s_size(tmp_path):
    # The crop of a photo whose brick the finder misses is the whole frame, and one whose box is
    # a piece of the brick is a piece: either trains on the wrong thing, so the audit shows them.
    data = write_class_folders(tmp_path / "data", per_class=6)
    empty = np.clip(np.full((96, 96, 3), BACKGROUND_RGB, float) + np.random.default_rng(3).normal(0, 2, (96, 96, 3)), 0, 255)
    write_rgb(data / "2x4" / "empty_table.jpg", empty.astype(np.uint8))
    write_rgb(data / "slope" / "far_away.jpg", brick_photo("triangle", (200, 40, 40), (48, 48), scale=4, seed=4))
    assert run_audit_cli(data, tmp_path / "out", tmp_path / "cache") == 0
    boxes = json.loads((tmp_path / "out" / "audit.json").read_text())["brick_boxes"]
    assert boxes["not_found"]["examples"] == ["2x4/empty_table.jpg"]
    assert boxes["off_size"]["smaller"] == 1 and boxes["off_size"]["larger"] == 0
    assert boxes["off_size"]["examples"][0]["path"] == "slope/far_away.jpg"
    assert boxes["off_size"]["examples"][0]["ratio_to_class_median"] < 0.6
    sheet = cv2.imread(str(tmp_path / "out" / "brick_boxes.png"))
    assert sheet is not None and sheet.shape[1] == 8 * 96
    assert "brick_boxes.png" in (tmp_path / "out" / "report.md").read_text()


def test_second_run_reuses_the_cache_and_agrees(planted, tmp_path):
    data, base = planted[0], planted[1]
    cached = sorted(p.name for p in (base / "cache").rglob("*.facts"))
    assert len(cached) == 20  # readable files with distinct bytes: 21 readable, one exact copy
    assert run_audit_cli(data, tmp_path / "again", base / "cache") == 0
    again = json.loads((tmp_path / "again" / "audit.json").read_text())
    assert again == planted[3]


def test_same_photo_under_two_labels_exits_non_zero(tmp_path, capsys):
    data = write_class_folders(tmp_path / "data", per_class=4)
    shutil.copyfile(data / "2x4" / "2x4_1.jpg", data / "slope" / "looks_like_slope.jpg")
    assert run_audit_cli(data, tmp_path / "out", tmp_path / "cache") == 1
    printed = capsys.readouterr().out
    assert "LABEL CONFLICTS: 1" in printed
    assert "2x4/2x4_1.jpg (2x4) vs slope/looks_like_slope.jpg (slope): exact" in printed
    assert cv2.imread(str(tmp_path / "out" / "label_conflicts.png")) is not None


def test_re_encoded_photo_under_another_label_is_a_conflict(tmp_path):
    data = write_class_folders(tmp_path / "data", per_class=4)
    photo = cv2.imread(str(data / "1x1" / "1x1_3.jpg"))
    cv2.imwrite(str(data / "2x4" / "resaved.jpg"), photo, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert run_audit_cli(data, tmp_path / "out", tmp_path / "cache") == 1
    conflicts = json.loads((tmp_path / "out" / "audit.json").read_text())["label_conflicts"]["pairs"]
    assert [(c["first"], c["second"], c["kind"]) for c in conflicts] == [("1x1/1x1_3.jpg", "2x4/resaved.jpg", "near")]


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda root: root, "no class folders"),
        (lambda root: write_class_folders(root, per_class=2, classes=("2x4",)), "single class"),
        (lambda root: write_rgb(write_class_folders(root, per_class=2) / "a b" / "x.jpg", np.zeros((8, 8, 3), np.uint8)).parents[1], "class name 'a b'"),
    ],
    ids=["empty", "single-class", "unsafe-name"],
)
def test_bad_data_folder_is_a_clear_error_with_exit_2(tmp_path, capsys, make, message):
    (tmp_path / "data").mkdir()
    data = make(tmp_path / "data")
    assert run_audit_cli(data, tmp_path / "out", tmp_path / "cache") == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_worker_count_below_1_or_a_tiny_side_below_1_is_refused_naming_the_option(tmp_path, capsys):
    data = write_class_folders(tmp_path / "data", per_class=2)
    for option, message in ((["--workers", "0"], "--workers (workers must be >= 1"), (["--workers", "-2"], "--workers (workers must be >= 1"),
                            (["--tiny", "0"], "--tiny (tiny_side must be >= 1, got 0)")):
        assert main(["audit", str(data), "--out", str(tmp_path / "out"), *option, "--quiet"]) == 2
        assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_cache_path_through_a_file_names_the_path_and_says_a_part_is_a_file(tmp_path, capsys):
    data = write_class_folders(tmp_path / "data", per_class=2)
    (tmp_path / "notes.txt").write_text("keep me")
    assert run_audit_cli(data, tmp_path / "out", tmp_path / "notes.txt") == 2
    err = capsys.readouterr().err
    assert "notes.txt/" in err and "a part of that path is a file, not a folder" in err and "[Errno" not in err
    assert (tmp_path / "notes.txt").read_text() == "keep me"


def test_a_link_to_nothing_is_reported_missing(tmp_path, capsys):
    data = write_class_folders(tmp_path / "data", per_class=2)
    (data / "2x4" / "gone.jpg").symlink_to(tmp_path / "deleted.jpg")
    assert run_audit_cli(data, tmp_path / "out", tmp_path / "cache") == 0
    assert "missing: 1 listed or linked image(s) not there, e.g. 2x4/gone.jpg" in capsys.readouterr().out
    summary = json.loads((tmp_path / "out" / "audit.json").read_text())
    assert summary["missing_files"] == {"count": 1, "examples": ["2x4/gone.jpg"]}


def test_a_class_whose_images_are_all_unreadable_is_named_and_exits_1(tmp_path, capsys):
    data = write_class_folders(tmp_path / "data", per_class=2)
    (data / "broken").mkdir()
    (data / "broken" / "empty.jpg").write_bytes(b"")
    assert run_audit_cli(data, tmp_path / "out", tmp_path / "cache") == 1
    assert "NO READABLE IMAGE in class(es) broken" in capsys.readouterr().out
    summary = json.loads((tmp_path / "out" / "audit.json").read_text())
    assert summary["classes_without_readable_images"] == ["broken"]
