"""Sorting in the digital twin: start it, run a normal sort session against it, check the journal against the world."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from device.cameras.registry import make_camera
from device.sort.bins_config import BinsConfig
from device.sort.journal import read_bricks
from device.sort.loop import LoopResult, SortLoop
from device.sort.recognise import Recogniser
from device.sort.session import SessionOptions, run_session
from device.sort.status import StatusLine
from device.world import sim_camera  # noqa: F401  registers camera kind `sim`
from device.world.accounting import Reconciliation, reconcile
from device.world.twin import DigitalTwin


@dataclass(frozen=True)
class SimulatedRun:
    """The loop's own result, the journal checked against the world, and where the time went."""

    loop: LoopResult
    reconciliation: Reconciliation
    wall_s: float  # the whole session: connect, learn the empty table, sort, park
    motion_s: float  # the executed moves' durations at the rig's real speeds (simulated seconds)
    time_scale: float

    @property
    def simulated_s(self) -> float:
        """The session as it would take on the real rig: motion at full length, the loop's own time as measured."""
        return self.wall_s - self.time_scale * self.motion_s + self.motion_s


def sort_in_twin(
    twin: DigitalTwin,
    recogniser: Recogniser,
    bins: BinsConfig,
    options: SessionOptions,
    *,
    camera_spec: str = "sim",
    status: StatusLine | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    say: Callable[[str], None] = print,
    on_loop: Callable[[SortLoop], None] | None = None,
) -> SimulatedRun:
    """Start `twin`, sort until the feeder is empty (or `should_stop`, or the loop ends), stop it, reconcile."""
    started = time.perf_counter()
    with twin:
        rig_config = twin.start()
        result = run_session(
            rig_config,
            make_camera(camera_spec, world=twin.world),
            recogniser,
            bins,
            options,
            truth=twin.truth,
            status=status,
            should_stop=lambda: should_stop() or twin.world.feeder_done(),
            say=say,
            on_loop=on_loop,
        )
        motion_s = sum(move.duration_s for move in twin.marlin.executed_moves)
    wall_s = time.perf_counter() - started
    reconciliation = reconcile(read_bricks(options.journal), twin.world.state, bins.bin_for)
    return SimulatedRun(result, reconciliation, wall_s, motion_s, twin.config.time_scale)
