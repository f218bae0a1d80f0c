"""The reject threshold: below it the device sends a brick to the reject bin.

Rule, calibrated on the validation split with the model the device runs:
  1. the lowest top-1 probability t at which the predictions accepted (top-1 >= t) reach
     `target_precision`, so mistakes that are unsure get rejected; and
  2. at least the `floor_percentile`-th percentile of the top-1 probability of correct
     predictions, so a model that is perfect on validation still rejects the least
     confident ~1% (unknown parts, two bricks at once look like that).
The threshold is the larger of the two.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ThresholdRule:
    """Parameters of the rule above."""

    target_precision: float = 0.995
    floor_percentile: float = 1.0

    def __post_init__(self) -> None:
        if not 0.0 < self.target_precision <= 1.0:
            raise ValueError(f"target_precision must be in (0, 1], got {self.target_precision}")
        if not 0.0 <= self.floor_percentile < 100.0:
            raise ValueError(f"floor_percentile must be in [0, 100), got {self.floor_percentile}")


def reject_threshold(probabilities: np.ndarray, labels: np.ndarray, rule: ThresholdRule = ThresholdRule()) -> float:
    """Threshold in [0, 1] for (n, classes) `probabilities` with true integer `labels`."""
    if len(probabilities) == 0:
        raise ValueError("cannot calibrate a reject threshold on an empty validation split")
    top1 = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    order = np.argsort(-top1, kind="stable")
    # Precision of the accepted set when the threshold sits at each sorted probability.
    precision = np.cumsum(correct[order]) / np.arange(1, len(order) + 1)
    meets = np.nonzero(precision >= rule.target_precision)[0]
    # The widest accepted set that still meets the target; none meets it: accept only the top one.
    by_precision = float(top1[order][meets[-1]]) if len(meets) else float(top1[order][0])
    floor = float(np.percentile(top1[correct], rule.floor_percentile)) if correct.any() else 1.0
    return float(min(1.0, max(by_precision, floor)))


def evenly_spaced_view_sets(views: int, k: int) -> list[tuple[int, ...]]:
    """Every set of `k` views about 360/k degrees apart (as the sort loop takes them) among a
    session's `views` evenly spaced ones, one per starting view; none when views < k."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if views < k:
        return []
    return sorted({tuple(sorted((start + round(i * views / k)) % views for i in range(k))) for start in range(views)})


def fused_view_sets(
    sessions: list[str], view_indices: list[int], probabilities: np.ndarray, labels: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """(fused probabilities, labels) of every evenly spaced k-view set within each session,
    fused exactly as the device fuses a brick's views. Images are grouped by `sessions[i]`
    and placed by `view_indices[i]`; a session whose views are not 0..V-1 is skipped."""
    from device.sort.fusion import fuse_views

    by_session: dict[str, dict[int, int]] = {}
    for row, (session, view) in enumerate(zip(sessions, view_indices)):
        by_session.setdefault(session, {})[view] = row
    fused, fused_labels = [], []
    for rows in by_session.values():
        if sorted(rows) != list(range(len(rows))):
            continue  # views missing (unreadable images): the spacing is unknown
        for view_set in evenly_spaced_view_sets(len(rows), k):
            picked = [rows[v] for v in view_set]
            fused.append(fuse_views(probabilities[picked]))
            fused_labels.append(labels[picked[0]])
    classes = probabilities.shape[1] if probabilities.ndim == 2 else 0
    return np.array(fused, dtype=np.float64).reshape(-1, classes), np.array(fused_labels, dtype=np.int64)
