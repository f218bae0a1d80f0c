"""Phase 2's learning rate per epoch: constant, or a cosine decay over the epochs asked for."""
from __future__ import annotations

import math

import keras

from trainer.train.config import SCHEDULES


def fine_tune_rate(epoch: int, epochs: int, base_rate: float, schedule: str) -> float:
    """Learning rate of phase-2 epoch `epoch` (0-based) of `epochs`. Cosine falls from
    `base_rate` at the first epoch towards 0 after the last, so the last epochs take small steps
    and the best checkpoint is less likely to be one lucky epoch of a noisy run."""
    if schedule == "constant":
        return base_rate
    if schedule == "cosine":
        return base_rate * 0.5 * (1.0 + math.cos(math.pi * min(epoch, epochs) / max(epochs, 1)))
    raise ValueError(f"unknown learning-rate schedule {schedule!r}; known: {', '.join(SCHEDULES)}")


def fine_tune_scheduler(epochs: int, base_rate: float, schedule: str) -> keras.callbacks.Callback:
    """Keras callback that sets the rate at the start of each epoch; keyed by the epoch number
    Keras passes (counting from `initial_epoch`), so a resumed phase 2 picks up where it was."""
    return keras.callbacks.LearningRateScheduler(lambda epoch: fine_tune_rate(epoch, epochs, base_rate, schedule))
