"""Keeping the views of bricks the loop was unsure of, so a person can label them for the next training run.

    <folder>/brick-000042/view-0.jpg ...   (the folder sits next to the journal by default)

A labeller moves a brick's folder under `<dataset>/<part>/`: the captures layout's
`<root>/<part>/<session>/<view>.jpg`, which the trainer reads.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np


@dataclass(frozen=True)
class ReviewPolicy:
    """Which bricks to keep images of: every rejected one, and sorted ones below `keep_below` confidence."""

    folder: Path
    keep_below: float = 0.9

    def __post_init__(self) -> None:
        if not 0.0 <= self.keep_below <= 1.0:
            raise ValueError(f"keep_below must be in [0, 1], got {self.keep_below}")

    def wants(self, rejected: bool, confidence: float) -> bool:
        """True when this brick's views should be saved."""
        return rejected or confidence < self.keep_below


def save_views(folder: Path, brick: int, frames: list[np.ndarray]) -> list[str]:
    """Write RGB `frames` as JPEGs for brick `brick`; returns their paths. Each file appears whole or not at all."""
    target = Path(folder) / f"brick-{brick:06d}"
    target.mkdir(parents=True, exist_ok=True)
    paths = []
    for view, frame in enumerate(frames):
        ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92])
        if not ok:
            raise OSError(f"could not encode view {view} of brick {brick} as JPEG")
        path = target / f"view-{view}.jpg"
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(encoded.tobytes())
        os.replace(tmp, path)
        paths.append(str(path))
    return paths
