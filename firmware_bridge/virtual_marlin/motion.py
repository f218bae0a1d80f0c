"""The virtual machine's motion: a planner queue executed in (scaled) real time.

Like Marlin, a queued move is acknowledged as soon as it fits in the planner and runs in
the background; `M400` waits for the queue to drain. Durations follow the trapezoid
profile from feedrate and acceleration, multiplied by `time_scale` (0 = instant).
"""
from __future__ import annotations

import logging
import math
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

from firmware_bridge.motion_time import trapezoid_move_time

_log = logging.getLogger(__name__)

AXES = ("X", "Y", "Z", "E")
PLANNER_BLOCKS = 16  # Marlin's BLOCK_BUFFER_SIZE on an ATmega2560


@dataclass(frozen=True)
class ExecutedMove:
    """A move the virtual machine carried out, with where it started and ended."""

    command: str  # the G-code as executed, without line number and checksum
    line_number: int | None
    start: dict[str, float]
    end: dict[str, float]
    duration_s: float  # simulated (unscaled) seconds


@dataclass
class MotionSettings:
    """Marlin's motion settings, changed by M92/M201/M203/M204 (Marlin's RAMPS defaults)."""

    steps_per_unit: dict[str, float] = field(default_factory=lambda: {"X": 80.0, "Y": 80.0, "Z": 400.0, "E": 93.0})
    max_speed: dict[str, float] = field(default_factory=lambda: {"X": 300.0, "Y": 300.0, "Z": 5.0, "E": 25.0})
    max_acceleration: dict[str, float] = field(
        default_factory=lambda: {"X": 3000.0, "Y": 3000.0, "Z": 100.0, "E": 10000.0}
    )
    travel_acceleration: float = 3000.0

    def move_duration(self, delta: dict[str, float], feedrate_per_min: float) -> float:
        """Simulated seconds for a straight move by `delta` at F=`feedrate_per_min`."""
        moving = {axis: d for axis, d in delta.items() if d}
        if not moving:
            return 0.0
        length = math.sqrt(sum(d * d for d in moving.values()))
        # Scale speed and acceleration down so no axis exceeds its own limits (as Marlin's planner does).
        speed = feedrate_per_min / 60.0
        acceleration = self.travel_acceleration
        for axis, d in moving.items():
            share = abs(d) / length
            speed = min(speed, self.max_speed[axis] / share)
            acceleration = min(acceleration, self.max_acceleration[axis] / share)
        return trapezoid_move_time(length, speed, acceleration)


@dataclass(frozen=True)
class _Block:
    command: str
    line_number: int | None
    target: dict[str, float]
    duration_s: float


class MotionSimulator:
    """Executes planned moves on a worker thread and keeps the physical positions."""

    def __init__(self, time_scale: float) -> None:
        if time_scale < 0:
            raise ValueError(f"time_scale must be >= 0, got {time_scale!r}")
        self.time_scale = time_scale
        self._lock = threading.Condition()
        self._queue: deque[_Block] = deque()
        self._executing = False
        self._positions = {axis: 0.0 for axis in AXES}
        self._executed: list[ExecutedMove] = []
        self._listeners: list[Callable[[ExecutedMove], None]] = []
        self._abort = threading.Event()
        self._closed = False
        self._worker = threading.Thread(target=self._run, name="virtual-marlin-motion", daemon=True)
        self._worker.start()

    # -- queries -------------------------------------------------------------------------
    @property
    def positions(self) -> dict[str, float]:
        """Physical axis positions after the last completed move (machine units)."""
        with self._lock:
            return dict(self._positions)

    @property
    def executed_moves(self) -> list[ExecutedMove]:
        """Every move completed so far, oldest first (a copy)."""
        with self._lock:
            return list(self._executed)

    @property
    def free_blocks(self) -> int:
        """Planner slots free, as ADVANCED_OK reports them."""
        with self._lock:
            return PLANNER_BLOCKS - len(self._queue) - int(self._executing)

    def add_listener(self, callback: Callable[[ExecutedMove], None]) -> None:
        """Call `callback(move)` on the motion thread as each move completes."""
        with self._lock:
            self._listeners.append(callback)

    # -- commands ------------------------------------------------------------------------
    def enqueue(self, command: str, line_number: int | None, target: dict[str, float], duration_s: float,
                wait_tick: Callable[[], None], tick_s: float) -> None:
        """Queue a move, waiting (and calling `wait_tick` every `tick_s` wall s) while the planner is full."""
        block = _Block(command, line_number, dict(target), duration_s)
        with self._lock:
            while len(self._queue) + int(self._executing) >= PLANNER_BLOCKS and not self._closed:
                if not self._lock.wait(tick_s):
                    wait_tick()
            self._queue.append(block)
            self._lock.notify_all()

    def wait_idle(self, wait_tick: Callable[[], None], tick_s: float) -> None:
        """Block until every queued move has completed, ticking like Marlin's keep-alive."""
        with self._lock:
            while (self._queue or self._executing) and not self._closed:
                if not self._lock.wait(tick_s):
                    wait_tick()

    def abort(self, zero_positions: bool = False) -> None:
        """Drop queued moves and cut the running one short (kill, board reset).

        A cut-short move is not recorded and positions stay where the last completed
        move ended: the simulation only knows whole moves.
        """
        with self._lock:
            self._queue.clear()
            self._abort.set()
            while self._executing:
                self._lock.wait(0.01)
            self._abort.clear()
            if zero_positions:
                self._positions = {axis: 0.0 for axis in AXES}
            self._lock.notify_all()

    def set_positions(self, positions: dict[str, float]) -> None:
        """Redefine the current position without moving (G92); call only when idle."""
        with self._lock:
            self._positions = dict(positions)

    def close(self) -> None:
        """Stop the worker thread."""
        with self._lock:
            self._closed = True
            self._queue.clear()
            self._abort.set()
            self._lock.notify_all()
        self._worker.join(timeout=2.0)

    # -- worker --------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._queue and not self._closed:
                    self._lock.wait()
                if self._closed:
                    return
                block = self._queue.popleft()
                self._executing = True
                start = dict(self._positions)
            interrupted = self._abort.wait(block.duration_s * self.time_scale) if self.time_scale else False
            move = ExecutedMove(block.command, block.line_number, start, dict(block.target), block.duration_s)
            with self._lock:
                self._executing = False
                if not interrupted:
                    self._positions = dict(block.target)
                    self._executed.append(move)
                listeners = list(self._listeners)
                self._lock.notify_all()
            if not interrupted:
                for listener in listeners:
                    try:
                        listener(move)
                    except Exception:  # a faulty observer must not stop the machine
                        _log.exception("move listener %r failed", listener)
