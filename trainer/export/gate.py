"""The int8 gate: a quantised model may cost at most a point of test accuracy."""
from __future__ import annotations

MAX_INT8_DROP_POINTS = 1.0


class Int8AccuracyLossError(ValueError):
    """The int8 model lost too much accuracy against the float model; nothing was written."""


def int8_loss_points(float_accuracy: float, int8_accuracy: float) -> float:
    """Accuracy lost by quantisation, in percentage points (negative when int8 did better)."""
    return 100.0 * (float_accuracy - int8_accuracy)


def check_int8_accuracy(
    float_accuracy: float, int8_accuracy: float, force: bool = False, max_drop_points: float = MAX_INT8_DROP_POINTS
) -> None:
    """Raise Int8AccuracyLossError when int8 loses more than `max_drop_points`, unless `force`."""
    lost = int8_loss_points(float_accuracy, int8_accuracy)
    if lost - max_drop_points > 1e-9 and not force:  # exactly at the limit passes despite float error
        raise Int8AccuracyLossError(
            f"int8 model loses {lost:.2f} points of test accuracy (float {100 * float_accuracy:.2f}%, "
            f"int8 {100 * int8_accuracy:.2f}%; limit {max_drop_points:g}): not writing the bundle. "
            "Use --force to write it anyway, or --device-model float32 to ship the float model."
        )
