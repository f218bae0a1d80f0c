"""Classification metrics from probabilities: accuracy, top-k, per-class precision/recall,
confusion matrix. Plain numpy so they are easy to check by hand."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np


def top_k_accuracy(probabilities: np.ndarray, labels: np.ndarray, k: int) -> float:
    """Fraction of rows whose true label is among the k most probable classes."""
    k = min(k, probabilities.shape[1])
    best = np.argsort(-probabilities, axis=1, kind="stable")[:, :k]
    return float((best == labels[:, None]).any(axis=1).mean())


def confusion_matrix(predicted: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    """(true, predicted) counts."""
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (labels, predicted), 1)
    return matrix


def classification_metrics(
    probabilities: np.ndarray, labels: np.ndarray, classes: Sequence[str], top_ks: Sequence[int] = (1, 3, 5)
) -> dict[str, Any]:
    """accuracy, top_k {k: accuracy}, per_class {class: precision, recall, support},
    confusion_matrix (rows true, columns predicted)."""
    if len(labels) == 0:
        raise ValueError("no images to evaluate")
    predicted = probabilities.argmax(axis=1)
    matrix = confusion_matrix(predicted, labels, len(classes))
    per_class = {}
    for i, name in enumerate(classes):
        predicted_as = int(matrix[:, i].sum())
        support = int(matrix[i].sum())
        per_class[name] = {
            "precision": float(matrix[i, i] / predicted_as) if predicted_as else None,
            "recall": float(matrix[i, i] / support) if support else None,
            "support": support,
        }
    return {
        "accuracy": float((predicted == labels).mean()),
        "top_k": {str(k): top_k_accuracy(probabilities, labels, k) for k in top_ks if k <= len(classes)},
        "per_class": per_class,
        "confusion_matrix": matrix.tolist(),
    }
