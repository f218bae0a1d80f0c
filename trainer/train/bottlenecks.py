"""Phase-1 features: every image through the device's `model_input` crop and the frozen
backbone once, cached on disk and reused by later runs.

A cached vector is keyed by the image's content hash and by everything that changes the
vector: backbone, alpha, input size, weights identity, crop margin and the device's
PREPROCESSING_VERSION. A corrupt image is listed and skipped, never a crash.
"""
from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from device.vision.crop import PREPROCESSING_VERSION, crop_for_model
from device.vision.preprocess import model_input
from trainer.data.analysis import FinderBox, cached_finder_box
from trainer.data.dataset import ImageItem, file_sha256, item_sha256s
from trainer.data.images import UnreadableImageError, read_image_rgb
from trainer.tflite.forward import FrozenForward
from trainer.train.array_files import load_array, save_array
from trainer.train.config import TrainConfig


CALIBRATION_IMAGES = 64


def calibration_items(items: list[ImageItem], count: int = CALIBRATION_IMAGES) -> list[ImageItem]:
    """An even, deterministic sample of `items` for BatchNorm calibration of a random backbone."""
    return items[:: max(1, len(items) // count)][:count]


def weights_id(config: TrainConfig, calibration: list[ImageItem] | None = None) -> str:
    """What identifies the backbone's weights: 'imagenet', a weights file's hash, or for a random
    init its seed plus the content of the images its BatchNorm was calibrated on."""
    if config.weights == "imagenet":
        return "imagenet"
    if config.weights == "none":
        digest = hashlib.sha256("".join(file_sha256(item.path) for item in calibration or []).encode())
        return f"random-seed{config.seed}-bn{digest.hexdigest()[:12]}"
    return "file-" + file_sha256(Path(config.weights))[:16]


def cache_key(config: TrainConfig, extractor_id: str) -> str:
    """Folder name under the cache dir for vectors of this backbone (`extractor_id` = its
    `weights_id`) and crop."""
    height, width = config.input_hw
    return (
        f"{config.backbone}-a{config.alpha:g}-{height}x{width}-{extractor_id}"
        f"-m{config.margin:g}-pre{PREPROCESSING_VERSION}"
    )


@dataclass(frozen=True)
class BottleneckCache:
    """Feature vectors on disk: `<root>/<key>/<hash[:2]>/<hash>.npy`."""

    root: Path

    def _path(self, content_hash: str) -> Path:
        return self.root / content_hash[:2] / f"{content_hash}.npy"

    def get(self, content_hash: str) -> np.ndarray | None:
        """The cached vector, or None (also for a damaged cache file, which is recomputed)."""
        return load_array(self._path(content_hash))

    def put(self, content_hash: str, vector: np.ndarray) -> None:
        """Store a vector atomically."""
        save_array(self._path(content_hash), vector)


@dataclass
class Bottlenecks:
    """Features for the readable items (in input order) and the items that were skipped."""

    items: list[ImageItem]
    features: np.ndarray  # (len(items), feature_dim) float32
    skipped: list[tuple[ImageItem, str]]  # (item, reason)
    computed: int  # vectors computed now (the rest came from the cache)
    sha256s: list[str]  # content hash of each of `items`: later caches key on them without reading the files again
    crops: np.ndarray | None = None  # (len(items), h, w, 3) uint8 model inputs, when asked for and all were cropped now


def load_crop(item: ImageItem, size_hw: tuple[int, int], margin: float, found: FinderBox | None = None) -> np.ndarray:
    """The model input of one image file, exactly as the device prepares a frame. `found`: the
    still-photo finder's box in this very file, when known, so the finder does not run again."""
    frame = read_image_rgb(item.path)
    if found is None:
        return model_input(frame, size_hw, margin)
    return crop_for_model(frame, found.box, size_hw, margin)


@dataclass
class Crops:
    """Model inputs of the readable items of one split side, with integer labels."""

    items: list[ImageItem]
    images: np.ndarray  # (n, h, w, 3) uint8
    labels: np.ndarray  # (n,) int64
    skipped: list[str]


def load_crops(items: list[ImageItem], classes: list[str], config: TrainConfig, desc: str) -> Crops:
    """Crop every readable item through the device's `model_input` (in parallel threads:
    decoding and OpenCV release the GIL), around the finder's cached box where the crop-facts
    cache holds one (as `compute_bottlenecks` does); unreadable ones are listed."""
    index = {name: i for i, name in enumerate(classes)}

    def crop(item: ImageItem) -> np.ndarray | str:
        try:
            found = cached_finder_box(config.crop_facts_dir, file_sha256(item.path))
            return load_crop(item, config.input_hw, config.margin, found)
        except UnreadableImageError as exc:
            return str(exc)

    kept, images, skipped = [], [], []
    with ThreadPoolExecutor(max(1, os.cpu_count() or 1)) as pool:
        for item, result in tqdm(zip(items, pool.map(crop, items)), total=len(items), desc=desc, unit="img"):
            if isinstance(result, str):
                skipped.append(result)
            else:
                kept.append(item)
                images.append(result)
    shape = (0, *config.input_hw, 3)
    return Crops(
        items=kept,
        images=np.stack(images) if images else np.zeros(shape, np.uint8),
        labels=np.array([index[item.label] for item in kept], dtype=np.int64),
        skipped=skipped,
    )


def compute_bottlenecks(
    items: list[ImageItem],
    features: FrozenForward,
    config: TrainConfig,
    extractor_id: str,
    progress: bool = True,
    keep_crops: bool = False,
) -> Bottlenecks:
    """Features of `items` through `features` (the frozen extractor or stem), from the cache
    where present; the rest are cropped in parallel and run through it in batches. With
    `keep_crops`, a call that cropped every readable item keeps the crops in the result, so
    work that needs them next (phase 2's augmented copies) does not crop them again.

    An image whose facts the crop-facts cache holds (`config.crop_facts_dir`: the duplicate
    search, the held-out check and the renders' analysis put them there) is cropped around the
    box cached there, the finder's own box for those bytes: the same crop, without running
    the finder again (~1.6 of the ~2.6 ms a crop took here)."""
    cache = BottleneckCache(config.cache_dir / cache_key(config, extractor_id))
    hashes = item_sha256s(items)
    vectors: dict[int, np.ndarray] = {}
    for index, content_hash in enumerate(hashes):
        cached = cache.get(content_hash)
        if cached is not None:
            vectors[index] = cached
    missing = [index for index in range(len(items)) if index not in vectors]
    skipped: dict[int, str] = {}
    crops: dict[int, np.ndarray] = {}

    def crop(index: int) -> tuple[int, np.ndarray | None]:
        try:
            found = cached_finder_box(config.crop_facts_dir, hashes[index])
            return index, load_crop(items[index], config.input_hw, config.margin, found)
        except UnreadableImageError as exc:
            skipped[index] = str(exc)
            return index, None

    bar = tqdm(total=len(missing), desc="bottlenecks", unit="img", disable=not progress or not missing)
    batches = [missing[start : start + config.batch_size] for start in range(0, len(missing), config.batch_size)]
    with ThreadPoolExecutor(max(1, os.cpu_count() or 1)) as pool:
        # The next batch is cropped while this one runs through `features`: neither alone keeps both cores busy.
        upcoming = [pool.submit(crop, index) for index in batches[0]] if batches else []
        for batch_indices, following in zip(batches, [*batches[1:], []]):
            current, upcoming = upcoming, [pool.submit(crop, index) for index in following]
            chunk = [pair for pair in (future.result() for future in current) if pair[1] is not None]
            if chunk:
                batch = np.stack([image for _, image in chunk]).astype(np.float32)
                for (index, image), vector in zip(chunk, features(batch)):
                    vectors[index] = vector
                    cache.put(hashes[index], vector)
                    if keep_crops:
                        crops[index] = image
            bar.update(len(batch_indices))
    bar.close()
    kept = sorted(vectors)
    return Bottlenecks(
        items=[items[i] for i in kept],
        features=np.stack([vectors[i] for i in kept]).astype(np.float32, copy=False) if kept else np.zeros((0, 0), np.float32),
        skipped=[(items[i], skipped[i]) for i in sorted(skipped)],
        computed=len(missing) - len(skipped),
        sha256s=[hashes[i] for i in kept],
        crops=np.stack([crops[i] for i in kept]) if kept and len(crops) == len(kept) else None,
    )
