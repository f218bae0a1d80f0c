"""Phase-2 augmentation speed: Keras' RandomRotation, RandomZoom and RandomTranslation in a row
against `RandomPose` (one resampling, by OpenCV), the same resampling by TensorFlow's
`affine_transform` (what `RandomPose` ran until 2026-12-07), and the whole turntable
augmentation, side by side in one process on a batch of 160x160 crops at the default strength.

    python benchmarks/bench_augment.py [--batch 64] [--repeats 5]
"""
from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5, help="rounds of 10 calls each; the median round is printed")
    parser.add_argument("--strength", type=float, default=None, help="augmentation strength (default: TrainConfig's)")
    args = parser.parse_args()
    import keras
    import tensorflow as tf

    from trainer.train.augment import RandomPose, pose_transforms, turntable_augmentation
    from trainer.train.config import TrainConfig

    strength = TrainConfig.augment_strength if args.strength is None else args.strength
    three = keras.Sequential([
        keras.layers.RandomRotation(1.0 * strength, fill_mode="reflect", seed=1),
        keras.layers.RandomZoom(0.1 * strength, fill_mode="reflect", seed=2),
        keras.layers.RandomTranslation(0.05 * strength, 0.05 * strength, fill_mode="reflect", seed=3),
    ])
    turns = np.random.default_rng(1).uniform(-2 * np.pi * strength, 2 * np.pi * strength, args.batch).astype(np.float32)
    fixed = pose_transforms(turns, np.ones(args.batch, np.float32), np.zeros((args.batch, 2), np.float32), 160, 160)
    layers = {
        "three Keras layers (before)": three,
        "RandomPose": RandomPose(1.0 * strength, 0.1 * strength, 0.05 * strength, seed=1),
        "one TensorFlow resampling": lambda x, training: keras.ops.image.affine_transform(x, fixed, "bilinear", fill_mode="reflect"),
        "whole turntable augmentation": turntable_augmentation(False, 1, strength),
    }
    crops = tf.constant(np.random.default_rng(0).integers(0, 256, (args.batch, 160, 160, 3)).astype(np.float32))
    calls = {name: tf.function(lambda x, layer=layer: layer(x, training=True)) for name, layer in layers.items()}
    for call in calls.values():
        call(crops)  # trace
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(args.repeats):  # interleaved, so a machine slowing down slows every row alike
        for name, call in calls.items():
            start = time.perf_counter()
            for _ in range(10):
                call(crops).numpy()
            times[name].append((time.perf_counter() - start) / (10 * args.batch) * 1000)
    print(f"augmentation at strength {strength}, batches of {args.batch} crops 160x160, median of {args.repeats} rounds:")
    for name, measured in times.items():
        print(f"  {name:30s} {np.median(measured):6.3f} ms a crop")
    ratio = np.median(times["three Keras layers (before)"]) / np.median(times["RandomPose"])
    print(f"  RandomPose is {ratio:.2f}x faster than the three layers it replaces")
    ratio = np.median(times["one TensorFlow resampling"]) / np.median(times["RandomPose"])
    print(f"  and {ratio:.2f}x faster than one resampling by TensorFlow")


if __name__ == "__main__":
    main()
