"""A tiny real TFLite bundle fitted to rendered bricks, for simulated sort tests that judge accuracy.

Bricks of each part are painted in the part's own colour (`PART_COLOURS`, fed by
`palette_brick_factory`), so a model that reads colour separates the parts. The model is
the tiny bundle's kind (uint8 RGB in, Rescaling, global average pool, Dense, Softmax) with
its Dense layer fitted as a nearest-centroid classifier on crops of rendered frames, taken
through `model_input` under the world's fixed look exactly as the sort loop takes them."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from device.classifier.bundle import Bundle, BundleMetadata, write_bundle
from device.sim.look import Look
from device.sim.renderer import Renderer
from device.vision.crop import DEFAULT_MARGIN, PREPROCESSING_VERSION
from device.vision.preprocess import model_input
from device.world.feeder import palette_brick_factory

PART_COLOURS = {"3001": (200, 30, 30), "3003": (30, 160, 50), "3004": (30, 60, 200), "3039": (230, 200, 40)}
INPUT_HW = (32, 32)
MARGIN_LOGITS = 8.0  # logit gap at a class centroid: softmax about 0.999 there


def _crops(rng: np.random.Generator, per_part: int) -> tuple[np.ndarray, np.ndarray]:
    renderer, factory = Renderer((300, 300)), palette_brick_factory(PART_COLOURS)
    crops, labels = [], []
    for index, part in enumerate(PART_COLOURS):
        for _ in range(per_part):
            frame = renderer.render(factory(part, rng), float(rng.uniform(0, 360)), rng, look=Look())
            crops.append(model_input(frame, INPUT_HW, DEFAULT_MARGIN))
            labels.append(index)
    return np.stack(crops), np.array(labels)


def make_sim_bundle(path: Path, per_part: int = 24, seed: int = 0) -> Bundle:
    """Fit, convert (int8) and write the bundle; labels are the keys of PART_COLOURS."""
    import keras
    import tensorflow as tf

    crops, labels = _crops(np.random.default_rng(seed), per_part)
    features = crops.reshape(len(crops), -1, 3).mean(axis=1) / 255.0
    centroids = np.stack([features[labels == k].mean(axis=0) for k in range(len(PART_COLOURS))])
    gaps = [np.sum((a - b) ** 2) for i, a in enumerate(centroids) for b in centroids[i + 1 :]]
    sharpness = 2.0 * MARGIN_LOGITS / min(gaps)
    inputs = keras.Input(shape=(*INPUT_HW, 3))
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Rescaling(1.0 / 255.0)(inputs))
    dense = keras.layers.Dense(len(PART_COLOURS))
    outputs = keras.layers.Softmax()(dense(x))
    dense.set_weights([sharpness * centroids.T, -sharpness * 0.5 * (centroids**2).sum(axis=1)])
    model = keras.Model(inputs, outputs)
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([c[None].astype(np.float32)] for c in crops)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.uint8
    converter.inference_output_type = tf.uint8
    metadata = BundleMetadata(
        input_height=INPUT_HW[0], input_width=INPUT_HW[1], backbone="centroid-colour-test", alpha=1.0,
        quantization="int8", reject_threshold=0.6, crop_margin=DEFAULT_MARGIN,
        preprocessing_version=PREPROCESSING_VERSION, models={"int8": "model.tflite"},
    )
    return write_bundle(Path(path), {"model.tflite": converter.convert()}, list(PART_COLOURS), metadata)
