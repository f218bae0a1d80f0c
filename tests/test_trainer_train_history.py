"""TensorBoard logs of a phase: one point per epoch for training and validation, no batch noise."""
from __future__ import annotations

import keras
import numpy as np
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from trainer.train.history import EpochTensorBoard


def _tags_and_steps(folder):
    events = EventAccumulator(str(folder))
    events.Reload()
    return {tag: [event.step for event in events.Tensors(tag)] for tag in events.Tags()["tensors"]}


def test_tensorboard_logs_each_epoch_of_training_and_validation_and_no_batches(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 4)).astype(np.float32), rng.integers(0, 2, 40)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, validation_data=(x, y), batch_size=8, epochs=3, verbose=0, callbacks=[EpochTensorBoard(log_dir=str(tmp_path))])
    train, validation = _tags_and_steps(tmp_path / "train"), _tags_and_steps(tmp_path / "validation")
    assert train["epoch_loss"] == train["epoch_accuracy"] == [0, 1, 2]
    assert validation["epoch_loss"] == [0, 1, 2]
    assert "keras" in train  # the layer graph
    assert not [tag for tag in train if tag.startswith("batch_")]
