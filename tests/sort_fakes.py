"""Small fakes for sort-loop unit tests: a table that holds a coloured square, a camera that
photographs it, and a rig that turns, selects bins and pushes (or jams, or loses its port)."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from device.cameras.base import Camera, Frame
from device.cameras.errors import EndOfStream
from firmware_bridge.errors import PortVanishedError

BACKGROUND = (128, 128, 128)


@dataclass
class FakeTable:
    """Bricks are colours; `queue` arrives one at a time once the table has been empty `gap_frames` frames."""

    queue: list[tuple[int, int, int]]
    gap_frames: int = 3
    on_table: tuple[int, int, int] | None = None
    bins: dict[int, list[tuple[int, int, int]]] = field(default_factory=dict)
    empty_frames: int = 0

    def frame(self) -> np.ndarray:
        image = np.zeros((96, 96, 3), np.uint8)
        image[:] = BACKGROUND
        if self.on_table is None:
            self.empty_frames += 1
            if self.queue and self.empty_frames > self.gap_frames:
                self.on_table = self.queue.pop(0)
                self.empty_frames = 0
        else:
            image[34:62, 30:66] = self.on_table
        return image


class FakeCamera(Camera):
    """Photographs the fake table; with `frame_limit`, a recording that ends after that many frames."""

    def __init__(self, table: FakeTable, log: list[str], frame_limit: int | None = None) -> None:
        super().__init__()
        self.table, self.log, self.frames_left = table, log, frame_limit

    def _open(self) -> None: ...

    def _read(self) -> Frame:
        if self.frames_left is not None:
            if self.frames_left == 0:
                raise EndOfStream("fake: recording over")
            self.frames_left -= 1
        self.log.append("frame")
        return Frame(self.table.frame(), time.time())

    def _lock_exposure(self) -> dict:
        return {}

    def _close(self) -> None: ...


class FakeRig:
    """Records what it is asked; `jam` pushes leave the brick, `vanish_on` raises PortVanishedError once on that call."""

    def __init__(self, table: FakeTable, log: list[str], jam: int = 0, vanish_on: str | None = None) -> None:
        self.table, self.log, self.jam, self.vanish_on = table, log, jam, vanish_on
        self.chute = 0
        self.angle = 0.0
        self.connected = True

    def _call(self, name: str) -> None:
        if not self.connected:
            raise PortVanishedError("fake port is gone")
        if self.vanish_on == name:
            self.vanish_on = None
            self.connected = False
            raise PortVanishedError(f"fake port vanished during {name}")
        self.log.append(name)

    def connect(self) -> None:
        self.connected = True
        self.log.append("connect")

    def close(self) -> None:
        self.log.append("close")

    def turn_table(self, degrees: float) -> None:
        self._call("turn")
        self.angle += degrees

    def select_bin(self, index: int) -> None:
        self._call("select_bin")
        self.chute = index

    def push(self) -> None:
        self._call("push")
        if self.jam:
            self.jam -= 1
            return
        if self.table.on_table is not None:
            self.table.bins.setdefault(self.chute, []).append(self.table.on_table)
            self.table.on_table = None

    def wait_for_moves(self) -> None:
        self._call("M400")

    def home(self) -> None:
        self._call("G28")
        self.chute = 0

    def enable_steppers(self) -> None:
        self._call("M17")

    def disable_steppers(self) -> None:
        self._call("M84")
