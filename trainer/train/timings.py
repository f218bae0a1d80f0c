"""Wall time per stage of `bricksort train`: printed when it ends and appended to the run's
`timings.json`, so a slow run shows where its time went without a profiler. The process's
CPU time per stage is saved beside it: on a shared 2-core VM whose wall times swing by a
third from run to run (docs/training.md), the steadier measure of the work a stage did."""
from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import Callable, Iterator

TIMINGS_FILE = "timings.json"


def process_cpu_seconds() -> float:
    """CPU time of this process so far, every thread, user and system."""
    times = os.times()
    return times.user + times.system


class StageTimes:
    """Seconds per named stage, in the order the stages first ran, by the wall `clock` and by
    the `cpu_clock`; `total` runs from creation."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter, cpu_clock: Callable[[], float] = process_cpu_seconds) -> None:
        self.seconds: dict[str, float] = {}
        self.cpu_seconds: dict[str, float] = {}
        self._clock, self._cpu_clock = clock, cpu_clock
        self._start, self._cpu_start = clock(), cpu_clock()

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time the block as `name` (a stage run twice counts both times)."""
        start, cpu_start = self._clock(), self._cpu_clock()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + self._clock() - start
            self.cpu_seconds[name] = self.cpu_seconds.get(name, 0.0) + self._cpu_clock() - cpu_start

    @property
    def total(self) -> float:
        """Seconds since this recorder was made."""
        return self._clock() - self._start

    def breakdown(self) -> dict[str, float]:
        """Every stage's seconds, then `other`: the part of the total no stage covered."""
        return _with_other(self.seconds, self.total)

    def cpu_breakdown(self) -> dict[str, float]:
        """`breakdown` in CPU seconds."""
        return _with_other(self.cpu_seconds, self._cpu_clock() - self._cpu_start)

    def summary(self) -> str:
        """One line: the total, then each stage."""
        stages = self.breakdown()
        return f"{sum(stages.values()):.1f} s: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in stages.items())

    def save(self, run_dir: Path) -> None:
        """Append this invocation's times to `run_dir/timings.json` (a resumed run adds an entry)."""
        path = run_dir / TIMINGS_FILE
        runs = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []
        stages = self.breakdown()  # the total is their sum: one reading of the clock for both
        cpu = self.cpu_breakdown()
        runs.append({
            "total_s": round(sum(stages.values()), 2),
            "stages_s": {name: round(s, 2) for name, s in stages.items()},
            "cpu_s": round(sum(cpu.values()), 2),
            "stages_cpu_s": {name: round(s, 2) for name, s in cpu.items()},
        })
        path.write_text(json.dumps(runs, indent=1), encoding="utf-8")


def _with_other(stages: dict[str, float], total: float) -> dict[str, float]:
    """`stages`, then `other`: the part of `total` no stage covered."""
    return {**stages, "other": max(0.0, total - sum(stages.values()))}
