"""Phase 2 on cached stem activations: the fast way to fine-tune on a CPU.

Fine-tuning trains only the backbone's top layers; everything below them (the "stem") is
frozen, and on MobileNetV2 0.35 at 160 it costs as much as the whole forward pass (its
high-resolution early layers). So the stem's output for every image is computed once and
cached on disk, like the phase-1 bottlenecks, and phase 2 trains the top layers and the head
on those activations: an exact shortcut for the frozen layers, several times faster per epoch,
with no image decoded or cropped again.

What it gives up is fresh augmentation every epoch: each training image gets
`augment_copies` augmented versions (the same turntable augmentation, drawn once, seeded, and
cached for the same images and settings), and every epoch shows each image as one of its
versions, the plain one or a copy, drawn at random; with `int8_aware` (the default) also as the
int8 model computes its stem (`trainer.train.int8_stem`).
"""
from __future__ import annotations

import functools
import hashlib
import json
import math
from typing import Callable

import keras
import numpy as np
from tqdm import tqdm

from trainer.data.dataset import ImageItem, item_sha256s
from trainer.tflite.forward import FrozenForward
from trainer.train.augment import AUGMENTATION_VERSION, turntable_augmentation
from trainer.train.array_files import load_array, save_array
from trainer.train.bottlenecks import BottleneckCache, Bottlenecks, cache_key, load_crops
from trainer.train.config import TrainConfig
from trainer.train.int8_stem import Int8Stem, int8_version


def stem_id(cut: str, stem: keras.Model) -> str:
    """Identity of the stem's output for the cache: the cut and a hash of every weight below
    it (pretrained, calibrated or loaded alike), so a changed stem never reads stale vectors."""
    return f"stem-{cut}-{weights_digest(stem)}"


def weights_digest(model: keras.Model) -> str:
    """A short hash of every weight of `model`, in order."""
    digest = hashlib.sha256()
    for weight in model.weights:
        digest.update(np.ascontiguousarray(keras.ops.convert_to_numpy(weight)).tobytes())
    return digest.hexdigest()[:12]


def pooled_features(
    activations: Bottlenecks, top: keras.Model, forward: FrozenForward, config: TrainConfig, identity: str
) -> np.ndarray:
    """Phase 1's features: the frozen top layers' outputs (`forward` runs `top`) for the stem
    `activations` of stem `identity`, cached per image in the stem's cache (beside its copies),
    keyed by the top's weights too. A warm run then neither converts nor runs the top layers
    (~2 s for turntable-10)."""
    cache = BottleneckCache(config.cache_dir / cache_key(config, identity) / f"pooled-{weights_digest(top)}")
    cached = [cache.get(content_hash) for content_hash in activations.sha256s]
    missing = [index for index, vector in enumerate(cached) if vector is None]
    for start in range(0, len(missing), config.batch_size):
        rows = missing[start : start + config.batch_size]
        for index, vector in zip(rows, forward(activations.features[rows])):
            cache.put(activations.sha256s[index], vector)
            cached[index] = vector
    if not cached:
        return np.zeros((0, *forward.output_shape), np.float32)
    return np.stack(cached).astype(np.float32, copy=False)


def training_versions(
    plain: Bottlenecks, stem: FrozenForward, config: TrainConfig, identity: str, int8: Int8Stem | None = None
) -> list[np.ndarray]:
    """1 + augment_copies [+ 1] arrays of (images, *activation): the plain activations of the
    readable training images (`compute_bottlenecks` through the stem, cached per image, keyed
    by `stem_id`), their augmented copies, then with `int8` their int8 version
    (`trainer.train.int8_stem`). Kept apart, not stacked: a stack would copy them all once
    more (0.8 GB and ~2 s for turntable-10 with its renders at block_5_add). Memory: that many
    times the images times the activation (5.6 KB per image at MobileNetV2's default cut at
    160x160, block_13_project_BN; 25.6 KB at block_5_add). The images are cropped at most once
    for all the versions the cache lacks, and not at all when `plain` kept its crops
    (`compute_bottlenecks(keep_crops=True)`)."""
    crops = crops_once(plain.items, config) if plain.crops is None else lambda: plain.crops
    versions = [plain.features, *augmented_copies(plain.items, stem, config, identity, crops, plain.sha256s)]
    if int8 is not None:
        versions.append(int8_version(plain.sha256s, crops, int8, config, identity))
    return versions


def crops_once(items: list[ImageItem], config: TrainConfig) -> Callable[[], np.ndarray]:
    """The items' uint8 crops, cropped on the first call and kept for the next ones."""
    labels = sorted({item.label for item in items})  # load_crops labels them; only the images are used
    return functools.cache(lambda: load_crops(items, labels, config, "training crops").images)


def augmented_copies(
    items: list[ImageItem],
    stem: FrozenForward,
    config: TrainConfig,
    identity: str,
    crops: Callable[[], np.ndarray] | None = None,
    sha256s: list[str] | None = None,
) -> list[np.ndarray]:
    """Stem outputs of `config.augment_copies` augmented versions of every item (all
    readable; `crops()`, when given, yields their crops), one array per copy. Each copy is
    cached as one file keyed by the items' content in order (`sha256s`, when given, are their
    hashes), the augmentation settings, the seed, the copy's number and `AUGMENTATION_VERSION`."""
    folder = config.cache_dir / cache_key(config, identity) / "copies"
    recipe = json.dumps(
        [sha256s or item_sha256s(items), config.seed, config.augment_strength, config.colour_augment, config.allow_flip, AUGMENTATION_VERSION]
    )
    paths = [folder / f"{hashlib.sha256(f'{recipe}/{copy}'.encode()).hexdigest()[:24]}.npy" for copy in range(config.augment_copies)]
    copies = [load_array(path) for path in paths]
    copies = [None if array is None or len(array) != len(items) else array for array in copies]
    if any(array is None for array in copies):
        images = (crops or crops_once(items, config))()
        for copy, path in enumerate(paths):
            if copies[copy] is None:
                copies[copy] = _augmented_pass(images, stem, config, copy)
                save_array(path, copies[copy])
    return copies


def _augmented_pass(crops: np.ndarray, stem: FrozenForward, config: TrainConfig, copy: int) -> np.ndarray:
    """The stem's output for one seeded augmentation of every uint8 crop, in batches (made
    float32 a batch at a time: all of them at once took 3.6 GB for the 11,700 crops of
    `bricksort demo --bricks-per-part 300`)."""
    import tensorflow as tf

    augmentation = turntable_augmentation(config.allow_flip, config.seed + 1000 * (copy + 1), config.augment_strength, config.colour_augment)
    augment = tf.function(lambda x: augmentation(x, training=True), reduce_retracing=True)
    out = []
    for start in tqdm(range(0, len(crops), config.batch_size), desc=f"augmented copy {copy + 1}", unit="batch"):
        out.append(stem(augment(tf.constant(crops[start : start + config.batch_size].astype(np.float32))).numpy()))
    return np.concatenate(out).astype(np.float32)


class VersionBatches:
    """Training batches (activations, labels, sample weights): every epoch shows each image
    once, in a new order, as one of its versions (the plain one or an augmented copy) drawn
    at random. `versions` are arrays of the same shape, one row per image. `dataset()` is
    what `fit` takes; indexing gives the batches of the order drawn last."""

    def __init__(
        self,
        versions: list[np.ndarray],
        labels: np.ndarray,
        batch_size: int,
        seed: int,
        class_weight: dict[int, float] | None = None,
    ) -> None:
        shapes = {version.shape for version in versions}
        if len(shapes) != 1:
            raise ValueError(f"versions differ in shape: {sorted(shapes)}")
        if len(versions[0]) != len(labels):
            raise ValueError(f"{len(versions[0])} activations per version for {len(labels)} labels")
        self.versions = versions
        self.labels = labels.astype(np.int32)
        weights = class_weight or {}
        self.sample_weights = np.array([weights.get(int(label), 1.0) for label in labels], dtype=np.float32)
        self.batch_size = batch_size
        self._rng = np.random.default_rng(seed)
        self.new_epoch()

    def new_epoch(self) -> None:
        """Draw the next epoch's order and versions."""
        self._order = self._rng.permutation(len(self.labels))
        self._version = self._rng.integers(0, len(self.versions), len(self.labels))

    def __len__(self) -> int:
        return math.ceil(len(self.labels) / self.batch_size)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rows = self._order[index * self.batch_size : (index + 1) * self.batch_size]
        drawn = self._version[rows]
        batch = np.empty((len(rows), *self.versions[0].shape[1:]), self.versions[0].dtype)
        for number, version in enumerate(self.versions):
            picked = drawn == number
            batch[picked] = version[rows[picked]]
        return batch, self.labels[rows], self.sample_weights[rows]

    def dataset(self):
        """One epoch's batches after the other, each epoch drawn anew, without end: fit it
        with `steps_per_epoch=len(self)`. One iterator serves every epoch: Keras makes a new
        one over a `PyDataset` each epoch, and one epoch in three or four stalled 3-4 s before
        its first batch there (~10 s of phase 2's 8 epochs on turntable-10). Autotuning is off
        (a fixed prefetch of two batches): with it, tearing the iterator down when `fit`
        returned waited on one of tf.data's threads, 11-48 s in about a third of the runs here
        (the wait seen in a native stack dump); 4 of 8 short fits stalled ~4.5 s with it in a
        side test, none of 8 without."""
        import tensorflow as tf

        def epochs():
            while True:
                self.new_epoch()
                for index in range(len(self)):
                    yield self[index]

        shape = self.versions[0].shape[1:]
        signature = (
            tf.TensorSpec((None, *shape), tf.as_dtype(self.versions[0].dtype)),
            tf.TensorSpec((None,), tf.int32),
            tf.TensorSpec((None,), tf.float32),
        )
        options = tf.data.Options()
        options.autotune.enabled = False
        return tf.data.Dataset.from_generator(epochs, output_signature=signature).prefetch(2).with_options(options)
