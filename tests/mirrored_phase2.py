"""A tiny training run whose phase 2 runs under `tf.distribute.MirroredStrategy` over two
logical CPU devices, the stand-in for a machine with two GPUs (tests have none).

    python tests/mirrored_phase2.py BASE

Logical devices can only be made before TensorFlow touches a device, so this runs in its own
process (`test_trainer_train_strategy.py`). Two runs, phase 2 on cached activations (with
the int8 version) and on images (the `tf.data` pipeline); it prints one JSON line: the
replicas of each strategy `distribution_strategy()` returned, the replicas each `fit` ran on,
and each run's epochs. The backbone comes from a weights FILE (a calibrated random
MobileNetV2 saved here), so the weight average, which is off with `--weights none`, runs too.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import tensorflow as tf


def main(base: Path) -> None:
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

    import keras

    from tiny_training import calibrated_backbone_file, tiny_config
    from trainer.train import run_training, strategy
    from trainer.train.checkpoint import RunState

    made: list[tf.distribute.Strategy] = []

    def two_replicas() -> tf.distribute.Strategy:
        made.append(tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))
        return made[-1]

    strategy.distribution_strategy = two_replicas  # what it returns on a machine with two GPUs
    fitted_under: list[int] = []
    fit = keras.Model.fit

    def recording_fit(self, *args, **kwargs):
        fitted_under.append(self.distribute_strategy.num_replicas_in_sync)
        return fit(self, *args, **kwargs)

    keras.Model.fit = recording_fit

    weights_file = calibrated_backbone_file(base)
    runs = {}
    for fine_tune_input in ("cached", "images"):
        config = tiny_config(
            base, name=fine_tune_input, weights=str(weights_file), epochs=2, fine_tune_epochs=4, fine_tune_layers=30,
            fine_tune_input=fine_tune_input, int8_aware=True,
        )
        run_training(config)
        state = RunState.load(config.run_dir)
        runs[fine_tune_input] = {
            "epochs_done": state.epochs_done,
            "best_weights": (config.run_dir / "best.weights.h5").is_file(),
        }
    print(json.dumps({
        "replicas": [made_one.num_replicas_in_sync for made_one in made],
        "fitted_under": fitted_under,
        "runs": runs,
    }))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main(Path(sys.argv[1]))
