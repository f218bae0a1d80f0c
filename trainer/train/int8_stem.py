"""Phase 2's int8 version of each training image: the frozen stem's output as the exported
full-integer int8 model computes it.

Why: int8 moves the stem's activations by ~13% (mean relative, at MobileNetV2 0.35's
`block_5_add` on turntable-10 crops), and top layers trained on the float activations alone
read some of those wrong. On turntable-10 the int8 model's extra mistakes (black 2x2 bricks
read as Technic 1x2s) came back exactly when only the stem was int8 and everything above it
float. So phase 2 also shows the top this version of every image, beside the plain one and
the augmented copies (`trainer.train.stem.VersionBatches` draws among them).

It is the device's computation, not a model of it: the stem is frozen in phase 2, and export
quantises it with the same representative crops (`representative_items`) and the same bias
correction, so the int8 tensors at the cut are the same.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import keras
import numpy as np
from tqdm import tqdm

from trainer.data.dataset import ImageItem, item_sha256s
from trainer.tflite.bias_correction import int8_bias_correction
from trainer.tflite.convert import convert_as_is
from trainer.tflite.forward import interpreter_for
from trainer.train.array_files import load_array, save_array
from trainer.train.bottlenecks import cache_key
from trainer.train.config import TrainConfig
from trainer.train.model import FEATURES_NAME, build_classifier_to_load, split_at_stem


@dataclass(frozen=True)
class Int8Stem:
    """What the int8 version depends on beyond the stem's weights (`stem_id`), and how to
    build the int8 stem when the cache lacks the version."""

    calibration: list[ImageItem]  # the representative training items export quantises with
    build: Callable[[], bytes]  # -> the int8 stem's TFLite bytes


def float32_copy(model: keras.Model, config: TrainConfig, num_classes: int) -> keras.Model:
    """A copy of `model` (a bricksort classifier) to quantise the stem from: float32, as export
    builds it, whatever precision phase 2 trains in on a GPU. Building a model reseeds Keras'
    random generators, so it is made in the thread that trains (~1.4 s for MobileNetV2 0.35)."""
    training_policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float32")
    try:
        copy, _, _ = build_classifier_to_load(config, num_classes)
    finally:
        keras.config.set_dtype_policy(training_policy)
    copy.set_weights(model.get_weights())
    return copy


def int8_stem_tflite(copy: keras.Model, config: TrainConfig, representative: np.ndarray) -> bytes:
    """The stem of `copy` (from `float32_copy`, used once) as full-integer int8 TFLite, uint8
    crops in and the cut's activations out as uint8: quantised as export quantises the whole
    model."""
    # The bias correction walks the whole classifier's graph, which `split_at_stem` adds
    # nodes to, so the copy is cut only once the biases are set.
    with int8_bias_correction(copy, list(representative)):
        _, stem, _ = split_at_stem(copy.get_layer(FEATURES_NAME), config.fine_tune_layers)
        return convert_as_is(stem, "int8", representative)


def run_int8(model: bytes, crops: np.ndarray, batch_size: int) -> np.ndarray:
    """Dequantised float32 outputs of an int8 TFLite model (uint8 in and out) for uint8 `crops`."""
    interpreter = interpreter_for(model)
    source, target = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    interpreter.resize_tensor_input(source["index"], [batch_size, *crops.shape[1:]])
    interpreter.allocate_tensors()
    scale, zero_point = target["quantization"]
    out = []
    for start in tqdm(range(0, len(crops), batch_size), desc="int8 versions", unit="batch"):
        batch = crops[start : start + batch_size]
        padded = np.zeros((batch_size, *crops.shape[1:]), np.uint8)  # the last batch, filled up
        padded[: len(batch)] = batch
        interpreter.set_tensor(source["index"], padded)
        interpreter.invoke()
        quantised = interpreter.get_tensor(target["index"])[: len(batch)]
        out.append((quantised.astype(np.float32) - zero_point) * scale)
    return np.concatenate(out)


def int8_version(
    sha256s: list[str], crops: Callable[[], np.ndarray], stem: Int8Stem, config: TrainConfig, identity: str
) -> np.ndarray:
    """The int8 stem's output for every image (all readable, `sha256s` their content hashes;
    `crops()` gives their uint8 crops), cached as one file (`int8_version_file`)."""
    path = int8_version_file(sha256s, stem.calibration, config, identity)
    cached = load_array(path)
    if cached is not None and len(cached) == len(sha256s):
        return cached
    tqdm.write("phase 2 int8 versions: quantising the frozen layers as export will...")
    version = run_int8(stem.build(), crops(), config.batch_size)
    save_array(path, version)
    return version


def int8_version_file(sha256s: list[str], calibration: list[ImageItem], config: TrainConfig, identity: str) -> Path:
    """Where the int8 version of the images with content hashes `sha256s` is cached: keyed by
    them and the calibration items, in order, under the stem's cache folder (`identity`)."""
    recipe = json.dumps([sha256s, item_sha256s(calibration)])
    return config.cache_dir / cache_key(config, identity) / "int8" / f"{hashlib.sha256(recipe.encode()).hexdigest()[:24]}.npy"
