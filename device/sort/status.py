"""The live status line: bricks, per bin, rejects, unresolved, bricks per minute."""
from __future__ import annotations

import sys
import time
from collections import Counter
from typing import Callable, TextIO

from device.sort.bins_config import BinsConfig
from device.sort.journal import JAMMED, REJECTED, SORTED, UNRESOLVED


class StatusLine:
    """Counts outcomes as the loop reports them; rewrites one line on a terminal, prints a line per brick elsewhere."""

    def __init__(
        self, bins: BinsConfig, stream: TextIO = sys.stderr, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.bins = bins
        self.stream = stream
        self.clock = clock
        self.started = clock()
        self.outcomes: Counter[str] = Counter()
        self.per_bin: Counter[int] = Counter()

    def record(self, outcome: str, bin_index: int | None) -> None:
        """Count one finished brick and show the updated line."""
        self.outcomes[outcome] += 1
        if outcome in (SORTED, REJECTED) and bin_index is not None:
            self.per_bin[bin_index] += 1
        self.show()

    @property
    def bricks(self) -> int:
        """Bricks finished so far, whatever their outcome."""
        return sum(self.outcomes.values())

    def bricks_per_minute(self) -> float:
        """Bricks pushed into a bin per minute of wall time since the loop started."""
        minutes = (self.clock() - self.started) / 60.0
        done = self.outcomes[SORTED] + self.outcomes[REJECTED]
        return done / minutes if minutes > 0 else 0.0

    def render(self) -> str:
        """The status text (no line ending)."""
        bins = " ".join(f"{self.bins.bin_name(i)}:{n}" for i, n in sorted(self.per_bin.items()))
        trouble = ""
        if self.outcomes[UNRESOLVED] or self.outcomes[JAMMED]:
            trouble = f" | unresolved {self.outcomes[UNRESOLVED]} jammed {self.outcomes[JAMMED]}"
        return (
            f"bricks {self.bricks} | rejects {self.outcomes[REJECTED]} | {bins or 'no bins yet'}{trouble}"
            f" | {self.bricks_per_minute():.1f}/min"
        )

    def show(self) -> None:
        """Write the line: in place on a terminal, one line per update otherwise (logs, pipes)."""
        if self.stream.isatty():
            self.stream.write("\r\033[K" + self.render())
        else:
            self.stream.write(self.render() + "\n")
        self.stream.flush()

    def finish(self) -> None:
        """End the in-place line so later output starts on a fresh line."""
        if self.stream.isatty():
            self.stream.write("\n")
            self.stream.flush()
