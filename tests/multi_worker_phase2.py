"""One worker of a tiny training run on two machines: `TF_CONFIG` names two workers on this
host, and `run_training` runs as `bricksort train` does on each machine, so phase 2 trains
under `tf.distribute.MultiWorkerMirroredStrategy` over the two processes.

    TF_CONFIG=... python tests/multi_worker_phase2.py BASE

BASE holds the tiny dataset and `backbone.weights.h5` (a calibrated random MobileNetV2, so
BatchNorm stays frozen and the weight average runs, as with ImageNet weights). One run, phase 2
on cached activations, the default (on images it was run by hand, 2026-12-01: the same
outcome; the suite's time is short); it prints one JSON line: the folder this worker wrote,
its epochs, the replicas `fit` ran on and the labels of this worker's first batch of each
distributed dataset (its share of the global batch).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path


def main(base: Path) -> None:
    import keras
    import tensorflow as tf

    from tiny_training import tiny_config
    from trainer.train import run_training
    from trainer.train.checkpoint import RunState

    replicas: list[int] = []
    first_labels: list[list[int]] = []
    fit = keras.Model.fit
    distribute = tf.distribute.MultiWorkerMirroredStrategy.experimental_distribute_dataset

    def recording_fit(self, *args, **kwargs):
        replicas.append(self.distribute_strategy.num_replicas_in_sync)
        return fit(self, *args, **kwargs)

    def recording_distribute(self, dataset, *args, **kwargs):
        distributed = distribute(self, dataset, *args, **kwargs)
        batch = next(iter(distributed))
        labels = batch[1]  # (x, y[, sample weights])
        first_labels.append(self.experimental_local_results(labels)[0].numpy().tolist())
        return distributed

    keras.Model.fit = recording_fit
    tf.distribute.MultiWorkerMirroredStrategy.experimental_distribute_dataset = recording_distribute

    config = tiny_config(
        base, name="cached", weights=str(base / "backbone.weights.h5"), epochs=2, fine_tune_epochs=3, fine_tune_layers=30,
    )
    run_dir = run_training(config)
    print(json.dumps({
        "run_dir": str(run_dir),
        "epochs_done": RunState.load(run_dir).epochs_done,
        "replicas": replicas,
        "first_labels": first_labels,
    }))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main(Path(sys.argv[1]))
