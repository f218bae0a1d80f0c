"""tf.data input for phase 2: parallel decode + crop (the device's `model_input`), optional
augmentation, batching and prefetch so the accelerator never waits on the CPU."""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from trainer.data.dataset import ImageItem
from trainer.train.augment import turntable_augmentation
from trainer.train.bottlenecks import load_crop
from trainer.train.config import TrainConfig


def image_dataset(
    items: list[ImageItem],
    labels: np.ndarray,
    config: TrainConfig,
    training: bool,
    class_weight: dict[int, float] | None = None,
) -> tf.data.Dataset:
    """(image float32 0..255, label int32) batches, with a third element, each image's class
    weight, when `class_weight` is given. `items` must be readable (phase 1 has already listed
    and dropped the corrupt ones, so no epoch can die on a bad file)."""
    height, width = config.input_hw

    def decode(index: np.int64) -> np.ndarray:
        item = items[int(index)]
        return load_crop(item, config.input_hw, config.margin).astype(np.float32)

    def load(index: tf.Tensor, label: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        image = tf.numpy_function(decode, [index], tf.float32, stateful=False)
        image.set_shape((height, width, 3))
        return image, label

    data = tf.data.Dataset.from_tensor_slices((np.arange(len(items)), labels.astype(np.int32)))
    if training:
        data = data.shuffle(len(items), seed=config.seed, reshuffle_each_iteration=True)
    data = data.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=not training)
    data = data.batch(config.batch_size)
    if training:
        augment = turntable_augmentation(config.allow_flip, config.seed, config.augment_strength, config.colour_augment)
        data = data.map(lambda x, y: (augment(x, training=True), y), num_parallel_calls=tf.data.AUTOTUNE)
    if class_weight:
        per_class = tf.constant([class_weight.get(i, 1.0) for i in range(int(labels.max()) + 1)], tf.float32)
        data = data.map(lambda x, y: (x, y, tf.gather(per_class, y)))
    return data.prefetch(tf.data.AUTOTUNE)
