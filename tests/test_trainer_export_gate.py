"""The int8 gate (refuse an int8 model that loses > 1 point unless forced) and the reject
threshold rule."""
import numpy as np
import pytest

from trainer.export.gate import Int8AccuracyLossError, check_int8_accuracy, int8_loss_points
from trainer.export.threshold import ThresholdRule, reject_threshold


@pytest.mark.parametrize(
    "float_accuracy, int8_accuracy, refused",
    [(0.95, 0.95, False), (0.95, 0.96, False), (0.95, 0.94, False), (0.95, 0.9399, True), (0.995, 0.90, True)],
)
def test_gate_refuses_more_than_one_point(float_accuracy, int8_accuracy, refused):
    if refused:
        with pytest.raises(Int8AccuracyLossError, match="--force"):
            check_int8_accuracy(float_accuracy, int8_accuracy)
    else:
        check_int8_accuracy(float_accuracy, int8_accuracy)
    check_int8_accuracy(float_accuracy, int8_accuracy, force=True)  # force always passes
    assert int8_loss_points(float_accuracy, int8_accuracy) == pytest.approx(100 * (float_accuracy - int8_accuracy))


def test_threshold_keeps_accepted_precision_at_target():
    # Confident and right, or unsure and wrong: the threshold must land between the two.
    probabilities = np.array([[0.97, 0.03], [0.95, 0.05], [0.9, 0.1], [0.6, 0.4], [0.55, 0.45]])
    labels = np.array([0, 0, 0, 1, 1])
    threshold = reject_threshold(probabilities, labels, ThresholdRule(target_precision=1.0, floor_percentile=0.0))
    assert threshold == pytest.approx(0.9)


def test_threshold_floor_rejects_least_confident_correct_predictions():
    top1 = np.linspace(0.5, 1.0, 101)
    probabilities = np.stack([top1, 1 - top1], axis=1)
    labels = np.zeros(101, dtype=int)  # all correct: precision alone would accept everything
    threshold = reject_threshold(probabilities, labels, ThresholdRule(target_precision=0.99, floor_percentile=10.0))
    assert threshold == pytest.approx(np.percentile(top1, 10.0))


def test_threshold_needs_validation_images():
    with pytest.raises(ValueError, match="empty validation split"):
        reject_threshold(np.zeros((0, 3)), np.zeros(0, dtype=int))
