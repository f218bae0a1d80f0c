"""Fusing the K views of one brick into one decision.

Each view gives a probability vector. The fused score of a class is the mean of its
log-probabilities over the views, turned back into a distribution with a softmax: the
normalised geometric mean of the views' probabilities (views treated as independent
evidence, as in naive Bayes, tempered by 1/K so K views are not K times over-confident).
A class must be plausible in *every* view to win: one view that all but rules a class out
(a 1x2 seen end-on is ambiguous, but a 2x4 is never seen as a 1x1) vetoes it, where an
arithmetic mean would let two confident views outvote it. The brick is rejected when the
fused top-1 probability is below the bundle's threshold.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Probabilities are clipped here before the log: an int8 model outputs exact zeros, and
# one zero must lower a class's score, not make it minus infinity for good.
PROBABILITY_FLOOR = 1e-6


@dataclass(frozen=True)
class Decision:
    """The outcome of fusion: the part to sort as (None when rejected) and how sure the loop is."""

    part: str | None
    index: int  # class index of the fused top-1 (also when rejected)
    confidence: float  # fused top-1 probability
    fused: tuple[float, ...]  # the fused distribution, one value per class

    @property
    def rejected(self) -> bool:
        """True when the brick goes to the reject bin."""
        return self.part is None


def fuse_views(probabilities: np.ndarray) -> np.ndarray:
    """(K, C) per-view probabilities -> (C,) fused distribution (softmax of mean log-probability)."""
    probs = np.asarray(probabilities, dtype=np.float64)
    if probs.ndim != 2 or probs.shape[0] < 1 or probs.shape[1] < 1:
        raise ValueError(f"expected a (views, classes) array with at least one of each, got shape {probs.shape}")
    if not np.all(np.isfinite(probs)) or np.any(probs < 0):
        raise ValueError("view probabilities must be finite and >= 0")
    mean_log = np.log(np.clip(probs, PROBABILITY_FLOOR, None)).mean(axis=0)
    shifted = np.exp(mean_log - mean_log.max())
    return shifted / shifted.sum()


def decide(probabilities: np.ndarray, labels: list[str], reject_threshold: float) -> Decision:
    """Fuse the views and pick the top part, or reject when its fused probability < `reject_threshold`."""
    if not 0.0 <= reject_threshold <= 1.0:
        raise ValueError(f"reject_threshold must be in [0, 1], got {reject_threshold}")
    fused = fuse_views(probabilities)
    if fused.shape[0] != len(labels):
        raise ValueError(f"the views have {fused.shape[0]} classes but there are {len(labels)} labels")
    index = int(np.argmax(fused))
    confidence = float(fused[index])
    part = labels[index] if confidence >= reject_threshold else None
    return Decision(part=part, index=index, confidence=confidence, fused=tuple(float(p) for p in fused))


def top_scores(probabilities: np.ndarray, labels: list[str], k: int = 3) -> list[list[tuple[str, float]]]:
    """Per view, its `k` best (part, probability) pairs: what the journal keeps of each view."""
    probs = np.asarray(probabilities, dtype=np.float64)
    result = []
    for row in probs:
        order = np.argsort(-row, kind="stable")[:k]
        result.append([(labels[i], round(float(row[i]), 4)) for i in order])
    return result
