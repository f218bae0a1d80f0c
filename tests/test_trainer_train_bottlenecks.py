"""Bottleneck features: each image's own vector, in input order, over many batches (the next
batch is cropped while one runs through the extractor), with unreadable files listed, and the
finder's cached boxes reused."""
from dataclasses import replace

import numpy as np

from device.vision import preprocess
from device.vision.still import find_brick_in_still as finder
from tiny_brick_photos import write_class_folders
from tiny_training import tiny_config
from trainer.data.analysis import analyse_images
from trainer.data.dataset import ImageItem
from trainer.train.bottlenecks import compute_bottlenecks, load_crop, load_crops


def _channel_means(batch: np.ndarray) -> np.ndarray:
    """A stand-in extractor: one vector per crop that tells crops apart."""
    return batch.mean(axis=(1, 2))


def _items(root) -> list[ImageItem]:
    return [ImageItem(path=path, label=path.parent.name, group=path.stem) for path in sorted(root.glob("*/*.jpg"))]


def test_every_image_gets_its_own_vector_across_batches_and_a_bad_file_is_listed(tmp_path):
    root = write_class_folders(tmp_path / "data", per_class=5)
    items = _items(root)
    bad = tmp_path / "data" / "1x1" / "bad.jpg"
    bad.write_bytes(b"not a jpeg")
    items.insert(7, ImageItem(path=bad, label="1x1", group="bad"))
    config = replace(tiny_config(tmp_path), batch_size=4)  # 16 files: 4 batches

    result = compute_bottlenecks(items, _channel_means, config, "means", progress=False, keep_crops=True)

    good = [item for item in items if item.path != bad]
    assert result.items == good and result.computed == 15
    assert [item.path for item, _ in result.skipped] == [bad]
    crops = np.stack([load_crop(item, config.input_hw, config.margin) for item in good])
    np.testing.assert_array_equal(result.crops, crops)
    np.testing.assert_allclose(result.features, _channel_means(crops.astype(np.float32)), rtol=1e-6)
    again = compute_bottlenecks(items, _channel_means, config, "means", progress=False)
    assert again.computed == 0 and np.array_equal(again.features, result.features)


def test_images_the_crop_facts_cache_holds_are_cropped_around_its_box_without_the_finder(tmp_path, monkeypatch):
    root = write_class_folders(tmp_path / "data", per_class=3)
    items = _items(root)
    config = replace(tiny_config(tmp_path), batch_size=4)
    fresh = compute_bottlenecks(items, _channel_means, config, "fresh", progress=False, keep_crops=True)
    analyse_images([item.path for item in items[:5]], cache_dir=config.crop_facts_dir, progress=False)

    finder_calls = []
    monkeypatch.setattr(preprocess, "find_brick_in_still", lambda frame: finder_calls.append(frame) or finder(frame))
    result = compute_bottlenecks(items, _channel_means, config, "boxes", progress=False, keep_crops=True)

    assert len(finder_calls) == len(items) - 5  # only for the images the facts cache lacks
    np.testing.assert_array_equal(result.crops, fresh.crops)  # the same crops, bit for bit
    finder_calls.clear()
    crops = load_crops(items, sorted({item.label for item in items}), config, "crops")
    assert len(finder_calls) == len(items) - 5
    np.testing.assert_array_equal(crops.images, fresh.crops)
