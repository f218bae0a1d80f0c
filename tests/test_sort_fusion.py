"""Fusing K views: mean log-probability, renormalised, rejected below the bundle's threshold."""
import numpy as np
import pytest

from device.sort.fusion import decide, fuse_views, top_scores

LABELS = ["3001", "3002", "3003"]


def test_one_view_fuses_to_itself():
    probs = np.array([[0.7, 0.2, 0.1]])
    np.testing.assert_allclose(fuse_views(probs), probs[0])


def test_fusion_is_the_normalised_geometric_mean():
    probs = np.array([[0.6, 0.3, 0.1], [0.2, 0.6, 0.2]])
    geo = np.sqrt(probs[0] * probs[1])
    np.testing.assert_allclose(fuse_views(probs), geo / geo.sum())


def test_a_class_one_view_rules_out_loses_even_when_it_wins_on_average():
    # class 0 has the best arithmetic mean (0.53) but view 2 all but excludes it
    probs = np.array([[0.80, 0.20, 0.0], [0.79, 0.21, 0.0], [0.01, 0.99, 0.0]])
    assert probs[:, 0].mean() > probs[:, 1].mean()
    fused = fuse_views(probs)
    assert np.argmax(fused) == 1
    np.testing.assert_allclose(fused.sum(), 1.0)


def test_an_exact_zero_from_an_int8_model_is_floored_not_fatal():
    probs = np.array([[1.0, 0.0, 0.0], [0.9, 0.1, 0.0]])
    fused = fuse_views(probs)
    assert np.all(np.isfinite(fused)) and np.argmax(fused) == 0


def test_decide_picks_the_top_part_above_the_threshold():
    decision = decide(np.array([[0.1, 0.85, 0.05], [0.05, 0.9, 0.05]]), LABELS, reject_threshold=0.6)
    assert decision.part == "3002" and decision.index == 1 and not decision.rejected
    assert 0.85 < decision.confidence < 0.9  # agreement, but the 0.1/0.05 tails keep it honest


def test_decide_rejects_below_the_threshold_but_keeps_the_best_guess():
    decision = decide(np.array([[0.5, 0.4, 0.1], [0.3, 0.6, 0.1]]), LABELS, reject_threshold=0.8)
    assert decision.rejected and decision.part is None
    assert LABELS[decision.index] in ("3001", "3002")
    assert decision.confidence < 0.8


@pytest.mark.parametrize(
    "probs, labels, threshold, message",
    [
        (np.array([0.5, 0.5]), LABELS[:2], 0.5, "expected a \\(views, classes\\) array"),
        (np.zeros((0, 3)), LABELS, 0.5, "at least one of each"),
        (np.array([[0.5, np.nan, 0.5]]), LABELS, 0.5, "finite"),
        (np.array([[0.5, 0.5]]), LABELS, 0.5, "2 classes but there are 3 labels"),
        (np.array([[0.5, 0.5, 0.0]]), LABELS, 1.5, "reject_threshold must be in"),
    ],
)
def test_bad_inputs_are_refused(probs, labels, threshold, message):
    with pytest.raises(ValueError, match=message):
        decide(probs, labels, threshold)


def test_top_scores_keeps_the_best_k_per_view_in_order():
    scores = top_scores(np.array([[0.1, 0.7, 0.2], [0.6, 0.1, 0.3]]), LABELS, k=2)
    assert scores == [[("3002", 0.7), ("3003", 0.2)], [("3001", 0.6), ("3003", 0.3)]]
