"""The simulated world: the brick on the table, the bins' contents, the axes as the virtual Marlin holds them."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from device.sim.look import Look
from device.sim.scene import Brick
from device.world.feeder import Feeder
from device.world.world_log import WorldLog, WorldState

# A chute this far (in bin pitches) from a bin position lets the brick fall between bins.
CHUTE_TOLERANCE_BINS = 0.1
# The pusher sweeps the table once it is out this far (fraction of its stroke).
PUSH_FRACTION = 0.8


@dataclass(frozen=True)
class WorldAxes:
    """Which Marlin axis letter does what, and in which units (taken from the rig file)."""

    turntable: str  # position in degrees
    chute: str  # position in degrees; bin i at i * degrees_per_bin
    degrees_per_bin: float
    bins: int
    pusher: str  # position in mm; the stroke is `stroke_mm`
    stroke_mm: float

    @classmethod
    def from_rig(cls, rig_config) -> "WorldAxes":
        """The axes of a `firmware_bridge.rig_config.RigConfig`."""
        return cls(
            turntable=rig_config.turntable.axis,
            chute=rig_config.chute.axis,
            degrees_per_bin=rig_config.chute.degrees_per_bin,
            bins=rig_config.chute.bins,
            pusher=rig_config.pusher.axis,
            stroke_mm=rig_config.pusher.stroke_mm,
        )


@dataclass(frozen=True)
class WorldFaults:
    """Mechanical trouble the world can simulate: pushes that leave the brick on the table."""

    jam_probability: float = 0.0  # chance that one push fails to move the brick
    stuck_seqs: frozenset[int] = frozenset()  # bricks no push ever moves
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0.0 <= self.jam_probability <= 1.0:
            raise ValueError(f"jam_probability must be in [0, 1], got {self.jam_probability}")


class SimulatedWorld:
    """Holds the physical state; `on_positions` follows the virtual Marlin, `observe` feeds the camera.

    Thread-safe: the virtual Marlin reports moves from its own thread while the camera reads
    from the sort loop's."""

    def __init__(
        self,
        axes: WorldAxes,
        feeder: Feeder,
        log: WorldLog,
        *,
        time_scale: float = 1.0,
        look: Look = Look(),
        faults: WorldFaults = WorldFaults(),
    ) -> None:
        if time_scale < 0:
            raise ValueError(f"time_scale must be >= 0, got {time_scale}")
        self.axes = axes
        self.feeder = feeder
        self.log = log
        self.time_scale = time_scale
        self.look = look  # the rig's light and camera: fixed for the whole run, unlike a dataset's sessions
        self.faults = faults
        self._lock = threading.Lock()
        self._positions: dict[str, float] = {axes.turntable: 0.0, axes.chute: 0.0, axes.pusher: 0.0}
        self._pusher_out = False
        self._jam_rng = np.random.default_rng(faults.seed)
        on_table = log.state.on_table  # a restarted world still has the brick the last run left there
        self._brick: tuple[int, Brick] | None = None if on_table is None else (on_table, feeder.brick(on_table))
        self._empty_since = time.monotonic()
        self._empty_frames = 0

    @property
    def state(self) -> WorldState:
        """What has happened so far (fed bricks, bins), as the log records it."""
        return self.log.state

    def on_move(self, move) -> None:
        """Follow one move the virtual Marlin completed (a `firmware_bridge.virtual_marlin.ExecutedMove`).

        Marlin's positions restart from 0 at every board reset while the machine stays where it
        is, so the world adds up each move's end - start; a homing move (G28) drives its axes to
        their endstops, which sit at 0."""
        words = move.command.upper().split()
        if words and words[0] == "G28":
            homed = [w[0] for w in words[1:] if w[:1] in "XYZ"] or ["X", "Y", "Z"]
            self.on_positions({axis: 0.0 for axis in homed}, relative=False)
        else:
            delta = {axis: move.end[axis] - move.start.get(axis, 0.0) for axis in move.end}
            self.on_positions(delta, relative=True)

    def on_positions(self, positions: Mapping[str, float], relative: bool = False) -> None:
        """Set (or with `relative`, move by) axis positions, then let an extended pusher sweep the table."""
        with self._lock:
            for letter in self._positions:
                if letter in positions:
                    base = self._positions[letter] if relative else 0.0
                    self._positions[letter] = base + float(positions[letter])
            extended = self._positions[self.axes.pusher] >= PUSH_FRACTION * self.axes.stroke_mm
            if extended and not self._pusher_out:
                self._sweep()
            self._pusher_out = extended

    def _sweep(self) -> None:
        if self._brick is None:
            return
        seq, _ = self._brick
        if seq in self.faults.stuck_seqs or self._jam_rng.uniform() < self.faults.jam_probability:
            self.log.record("jammed", seq)
            return
        self.log.record("binned", seq, bin=self.chute_bin())
        self._brick = None
        self._empty_since = time.monotonic()
        self._empty_frames = 0

    def chute_bin(self) -> int | None:
        """The bin the chute points at, or None when it points between bins (or past the last)."""
        position = self._positions[self.axes.chute] / self.axes.degrees_per_bin
        nearest = round(position)
        if abs(position - nearest) > CHUTE_TOLERANCE_BINS or not 0 <= nearest < self.axes.bins:
            return None
        return int(nearest)

    def observe(self) -> tuple[tuple[int, Brick] | None, float]:
        """What a camera frame taken now shows: the brick on the table (seq, brick) or None, and the table angle.

        Each call counts as one camera frame for the feeder, which drops the next brick once the
        table has been empty long enough (see `FeederConfig`)."""
        with self._lock:
            if self._brick is None:
                self._maybe_feed()
            return self._brick, self._positions[self.axes.turntable] % 360.0

    def _maybe_feed(self) -> None:
        self._empty_frames += 1
        config = self.feeder.config
        waited = (time.monotonic() - self._empty_since) >= config.delay_s * self.time_scale
        seq = self.log.state.next_seq
        if waited and self._empty_frames > config.gap_frames and self.feeder.has_brick(seq):
            brick = self.feeder.brick(seq)
            self.log.record("fed", seq, part=brick.part_id)
            self._brick = (seq, brick)

    def brick_on_table(self) -> tuple[int, str] | None:
        """(seq, part) of the brick on the table: the ground truth a simulation journals alongside a decision."""
        with self._lock:
            return None if self._brick is None else (self._brick[0], self._brick[1].part_id)

    def feeder_done(self) -> bool:
        """True when the feeder has nothing more to give and the table is empty."""
        with self._lock:
            return self._brick is None and not self.feeder.has_brick(self.log.state.next_seq)
