"""The reject threshold is calibrated on the decisions the sorter makes: K views of one brick,
about 360/K degrees apart, fused as the device fuses them."""
from __future__ import annotations

import numpy as np
import pytest

from device.sort.fusion import fuse_views
from trainer.export.threshold import evenly_spaced_view_sets, fused_view_sets


def test_view_sets_are_spread_around_the_turn_like_the_sort_loop_takes_them():
    assert evenly_spaced_view_sets(3, 3) == [(0, 1, 2)]
    assert evenly_spaced_view_sets(6, 3) == [(0, 2, 4), (1, 3, 5)]
    assert evenly_spaced_view_sets(8, 1) == [(v,) for v in range(8)]
    assert all(len(set(s)) == 3 for s in evenly_spaced_view_sets(8, 3))
    assert evenly_spaced_view_sets(2, 3) == []
    with pytest.raises(ValueError):
        evenly_spaced_view_sets(3, 0)


def test_sets_never_mix_sessions_and_are_fused_as_the_device_fuses():
    rng = np.random.default_rng(0)
    probabilities = rng.dirichlet(np.ones(4), size=12)
    sessions = ["3001/a"] * 6 + ["3003/b"] * 6
    views = list(range(6)) * 2
    labels = np.array([0] * 6 + [2] * 6)

    fused, fused_labels = fused_view_sets(sessions, views, probabilities, labels, 3)

    assert fused.shape == (4, 4) and list(fused_labels) == [0, 0, 2, 2]
    np.testing.assert_allclose(fused[0], fuse_views(probabilities[[0, 2, 4]]))
    np.testing.assert_allclose(fused[3], fuse_views(probabilities[[7, 9, 11]]))


def test_a_session_with_a_missing_view_is_left_out_rather_than_fused_at_the_wrong_spacing():
    probabilities = np.full((5, 2), 0.5)
    fused, labels = fused_view_sets(["a", "a", "a", "b", "b"], [0, 1, 3, 0, 1], probabilities, np.zeros(5, int), 2)
    assert fused.shape == (1, 2) and list(labels) == [0]  # only session b (views 0, 1)
