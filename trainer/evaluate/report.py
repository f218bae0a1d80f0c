"""What people look at: a confusion-matrix PNG and an HTML page of misclassified images,
each shown as the crop the model saw, with its top-3."""
from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

CONFUSION_PNG = "confusion_matrix.png"
MISCLASSIFIED_HTML = "misclassified.html"
CROPS_DIR = "misclassified"


@dataclass(frozen=True)
class Mistake:
    """One misclassified image: where it is, what it is, the crop and the top-3 guesses."""

    path: str
    true_label: str
    crop: np.ndarray  # uint8 RGB, as fed to the model
    top3: list[tuple[str, float]]


def plot_confusion(matrix: np.ndarray, classes: Sequence[str], out: Path, title: str) -> Path:
    """Row-normalised confusion matrix with counts in the cells."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = matrix.sum(axis=1, keepdims=True)
    normalised = np.divide(matrix, rows, out=np.zeros(matrix.shape, dtype=float), where=rows > 0)
    side = max(4.0, 0.5 * len(classes) + 2)
    fig, ax = plt.subplots(figsize=(side + 1, side))
    image = ax.imshow(normalised, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(classes)), classes, rotation=90)
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    for (i, j), count in np.ndenumerate(matrix):
        if count:
            ax.text(j, i, str(count), ha="center", va="center", color="white" if normalised[i, j] > 0.5 else "black", fontsize=7)
    fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def write_misclassified(mistakes: Sequence[Mistake], out_dir: Path, title: str) -> Path:
    """HTML page with one row per mistake: the crop, the file, the truth and the top-3."""
    crops_dir = out_dir / CROPS_DIR
    crops_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for n, mistake in enumerate(mistakes):
        name = f"{n:05d}.png"
        cv2.imwrite(str(crops_dir / name), cv2.cvtColor(mistake.crop, cv2.COLOR_RGB2BGR))
        guesses = "<br>".join(f"{html.escape(label)} {100 * score:.1f}%" for label, score in mistake.top3)
        rows.append(
            f"<tr><td><img src='{CROPS_DIR}/{name}' width=128></td><td>{html.escape(mistake.path)}</td>"
            f"<td>{html.escape(mistake.true_label)}</td><td>{guesses}</td></tr>"
        )
    body = "\n".join(rows) or "<tr><td colspan=4>no misclassified images</td></tr>"
    page = (
        f"<!doctype html><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<h1>{html.escape(title)}</h1><p>{len(mistakes)} misclassified image(s)</p>"
        "<table border=1 cellpadding=4><tr><th>crop</th><th>file</th><th>true</th><th>top-3</th></tr>"
        f"{body}</table>"
    )
    out = out_dir / MISCLASSIFIED_HTML
    out.write_text(page, encoding="utf-8")
    return out
