"""Loading datasets: plain class folders, the captures layout, and clear errors for bad folders."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest

from device.capture.manifest import MANIFEST_NAME, CaptureRecord, ManifestWriter
from tiny_brick_photos import brick_photo, write_class_folders, write_rgb
from trainer.data.dataset import DatasetError, dataset_fingerprint, load_dataset

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def test_plain_folders_give_sorted_classes_and_one_group_per_file(tmp_path):
    root = write_class_folders(tmp_path / "data", per_class=3)
    (root / "1x1" / "notes.txt").write_text("not an image")
    (root / "slope" / "extra.PNG").write_bytes((root / "slope" / "slope_0.jpg").read_bytes())
    dataset = load_dataset(root)
    assert dataset.layout == "folders"
    assert dataset.classes == ["1x1", "2x4", "slope"]
    assert dataset.class_counts() == {"1x1": 3, "2x4": 3, "slope": 4}
    assert dataset.ignored == [root.resolve() / "1x1" / "notes.txt"]
    assert len({item.group for item in dataset.items}) == len(dataset.items)
    assert dataset.class_index() == {"1x1": 0, "2x4": 1, "slope": 2}


def test_bmp_tiff_and_webp_photos_are_images_too_and_decode_like_the_png(tmp_path):
    from trainer.data.images import read_image_rgb

    root = write_class_folders(tmp_path / "data", per_class=2)
    photo = brick_photo("wide", (30, 30, 200), (48, 48), seed=3)
    write_rgb(root / "2x4" / "photo.png", photo)
    for suffix in (".bmp", ".tif", ".TIFF", ".webp"):
        cv2.imwrite(str(root / "2x4" / f"photo{suffix}"), cv2.imread(str(root / "2x4" / "photo.png")), [cv2.IMWRITE_WEBP_QUALITY, 101])
    dataset = load_dataset(root)
    names = sorted(item.path.name for item in dataset.items if item.label == "2x4" and item.path.stem == "photo")
    assert names == ["photo.TIFF", "photo.bmp", "photo.png", "photo.tif", "photo.webp"]
    assert dataset.ignored == []
    decoded = {name: read_image_rgb(root / "2x4" / name) for name in names}
    for name in names:  # all lossless: the same pixels as the PNG
        assert (decoded[name] == decoded["photo.png"]).all(), name


def test_subfolder_below_a_class_is_one_group(tmp_path):
    root = write_class_folders(tmp_path / "data", per_class=2)
    for view in range(3):
        write_rgb(root / "2x4" / "brick7" / f"{view}.jpg", brick_photo("wide", (30, 30, 200), (48, 48), seed=view))
    groups = {item.group for item in load_dataset(root).items if "brick7" in item.path.parts}
    assert groups == {"2x4/brick7"}


def test_captures_layout_groups_by_session_skips_unlisted_images_and_lists_missing_ones(tmp_path):
    writer = ManifestWriter(tmp_path / "captures")
    for part, shape in (("3001", "wide"), ("3005", "round")):
        for session in ("s1", "s2"):
            for view in range(3):
                ok, jpeg = cv2.imencode(".jpg", brick_photo(shape, (200, 40, 40), (48, 48), seed=view))
                writer.write_image(CaptureRecord(part=part, session=session, view=view, angle_deg=view * 120.0), jpeg.tobytes())
    leftover = tmp_path / "captures" / "3001" / "s1" / "0099.jpg"  # image whose manifest line never got written
    leftover.write_bytes(b"half")
    deleted = tmp_path / "captures" / "3005" / "s2" / "0002.jpg"  # listed, then deleted by hand
    deleted.unlink()
    dataset = load_dataset(tmp_path / "captures")
    assert dataset.layout == "captures"
    assert dataset.classes == ["3001", "3005"]
    assert len(dataset.items) == 11
    assert dataset.missing == [deleted.resolve()]
    assert {item.group for item in dataset.items} == {"3001/s1", "3001/s2", "3005/s1", "3005/s2"}
    assert leftover.resolve() in dataset.ignored


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        load_dataset(tmp_path / "nope")


def test_empty_folder_is_a_clear_error(tmp_path):
    with pytest.raises(DatasetError, match="no class folders"):
        load_dataset(tmp_path)


def test_class_folders_without_images_are_a_clear_error(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "readme.txt").write_text("x")
    with pytest.raises(DatasetError, match="holds no images"):
        load_dataset(tmp_path)


def test_one_empty_class_is_named(tmp_path):
    root = write_class_folders(tmp_path / "data", per_class=2)
    (root / "plate").mkdir()
    with pytest.raises(DatasetError, match="without images.*plate"):
        load_dataset(root)


def test_single_class_is_a_clear_error(tmp_path):
    root = write_class_folders(tmp_path / "data", per_class=2, classes=("2x4",))
    with pytest.raises(DatasetError, match="single class"):
        load_dataset(root)


@pytest.mark.parametrize("bad_name", ["red brick", "a\\b", "3001;rm", "-dash"])
def test_unsafe_class_name_is_a_clear_error(tmp_path, bad_name):
    root = write_class_folders(tmp_path / "data", per_class=2)
    write_rgb(root / bad_name / "x.jpg", brick_photo("wide", (30, 30, 200), (48, 48)))
    with pytest.raises(DatasetError, match="class name") as caught:
        load_dataset(root)
    assert bad_name in str(caught.value)


def test_every_unsafe_class_name_is_named_at_once(tmp_path):
    root = write_class_folders(tmp_path / "data", per_class=2)
    for bad_name in ("red brick", "3001;rm"):
        write_rgb(root / bad_name / "x.jpg", brick_photo("wide", (30, 30, 200), (48, 48)))
    with pytest.raises(DatasetError) as caught:
        load_dataset(root)
    assert "'red brick'" in str(caught.value) and "'3001;rm'" in str(caught.value)


def test_every_unsafe_part_id_in_hand_edited_manifests_is_named_at_once(tmp_path):
    writer = ManifestWriter(tmp_path / "captures")
    ok, jpeg = cv2.imencode(".jpg", brick_photo("wide", (200, 40, 40), (48, 48)))
    writer.write_image(CaptureRecord(part="3001", session="s1", view=0, angle_deg=0.0), jpeg.tobytes())
    manifest = next((tmp_path / "captures").glob(f"*/*/{MANIFEST_NAME}"))
    with manifest.open("a", encoding="utf-8") as f:
        for bad_id in ("red brick", "3001;rm"):
            f.write(json.dumps({"part": bad_id, "session": "s1", "view": 1, "angle_deg": 0.0, "file": "3001/s1/0001.jpg"}) + "\n")
    with pytest.raises(DatasetError) as caught:
        load_dataset(tmp_path / "captures")
    assert "'red brick'" in str(caught.value) and "'3001;rm'" in str(caught.value)


def test_a_link_to_nothing_is_listed_as_missing_not_silently_dropped(tmp_path):
    root = write_class_folders(tmp_path / "data", per_class=2)
    (root / "2x4" / "gone.jpg").symlink_to(tmp_path / "deleted.jpg")
    dataset = load_dataset(root)
    assert dataset.missing == [root.resolve() / "2x4" / "gone.jpg"]
    assert all(item.path.name != "gone.jpg" for item in dataset.items)


def test_dataset_errors_are_value_errors():
    assert issubclass(DatasetError, ValueError)


def test_fingerprint_follows_content_labels_and_names(tmp_path):
    root = write_class_folders(tmp_path / "data", per_class=2)
    first = dataset_fingerprint(load_dataset(root))
    assert dataset_fingerprint(load_dataset(root)) == first
    (root / "1x1" / "1x1_0.jpg").rename(root / "1x1" / "1x1_9.jpg")
    renamed = dataset_fingerprint(load_dataset(root))
    assert renamed != first
    path = root / "1x1" / "1x1_9.jpg"
    path.write_bytes(path.read_bytes() + b"\0")
    assert dataset_fingerprint(load_dataset(root)) != renamed


@pytest.mark.shared
@pytest.mark.skipif(not (SHARED / "datasets" / "turntable-10").is_dir(), reason="../shared/datasets/turntable-10 not present")
def test_turntable_10_loads_as_ten_classes():
    dataset = load_dataset(SHARED / "datasets" / "turntable-10")
    assert len(dataset.classes) == 10 and len(dataset.items) == 4453
