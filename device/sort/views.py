"""Taking the K views of a brick: turn the table 360/K between them, M400 before each grab."""
from __future__ import annotations

import time
from typing import Protocol

import numpy as np


class TableRig(Protocol):
    """What view taking needs of the rig (`firmware_bridge.rig.Rig` provides it)."""

    def turn_table(self, degrees: float) -> None: ...

    def wait_for_moves(self) -> None: ...


class FrameGrabber(Protocol):
    """What view taking needs of the camera side (`device.sort.eyes.Eyes` provides it)."""

    def grab(self, not_before: float) -> np.ndarray: ...


def take_views(rig: TableRig, eyes: FrameGrabber, views: int, first_turn: float = 0.0) -> list[np.ndarray]:
    """`views` frames of the brick, each at a table angle 360/`views` further than the one before;
    the table first turns `first_turn` degrees (the second look starts half a step on)."""
    if views < 1:
        raise ValueError(f"views must be >= 1, got {views}")
    frames = []
    for view in range(views):
        turn = 360.0 / views if view else first_turn
        if turn:
            rig.turn_table(turn)
        rig.wait_for_moves()  # M400: the table is still before the picture, never during the turn
        frames.append(eyes.grab(not_before=time.time()))
    return frames
