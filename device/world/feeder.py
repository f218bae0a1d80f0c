"""The feeder: puts the next brick (known part, reproducible from a seed) on the empty table."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from device.sim.parts import PART_IDS
from device.sim.scene import Brick, random_brick

BrickFactory = Callable[[str, np.random.Generator], Brick]


@dataclass(frozen=True)
class FeederConfig:
    """Which bricks arrive, how many, and how soon after the table is cleared.

    A brick lands once the table has been empty for `delay_s` (simulated seconds) and for
    `gap_frames` camera frames: a real feeder cannot drop a brick the instant the last one
    leaves, and the loop needs a few empty frames to see the table clear."""

    parts: tuple[str, ...] = PART_IDS
    count: int | None = None  # None: endless
    seed: int = 0
    delay_s: float = 0.5
    gap_frames: int = 6

    def __post_init__(self) -> None:
        if not self.parts:
            raise ValueError("feeder parts must name at least one part")
        unknown = [p for p in self.parts if p not in PART_IDS]
        if unknown:
            raise ValueError(f"feeder parts {unknown} cannot be simulated; known parts: {', '.join(PART_IDS)}")
        if self.count is not None and self.count < 0:
            raise ValueError(f"feeder count must be >= 0, got {self.count}")
        if self.delay_s < 0:
            raise ValueError(f"feeder delay_s must be >= 0, got {self.delay_s}")
        if self.gap_frames < 1:
            raise ValueError(f"feeder gap_frames must be >= 1, got {self.gap_frames}")


class Feeder:
    """Brick number `seq` is a pure function of (seed, seq): a restarted world feeds the same sequence."""

    def __init__(self, config: FeederConfig, brick_factory: BrickFactory = random_brick) -> None:
        self.config = config
        self.brick_factory = brick_factory

    def has_brick(self, seq: int) -> bool:
        """True while the feeder still has brick `seq` to give."""
        return self.config.count is None or seq < self.config.count

    def brick(self, seq: int) -> Brick:
        """The `seq`-th brick the feeder gives."""
        rng = np.random.default_rng([self.config.seed, seq])
        part = self.config.parts[int(rng.integers(len(self.config.parts)))]
        return self.brick_factory(part, rng)


def palette_brick_factory(colours: dict[str, tuple[int, int, int]]) -> BrickFactory:
    """A factory that paints each part in its own RGB colour (tests pair it with a colour-keyed model)."""
    from device.sim.colors import LegoColor

    def make(part: str, rng: np.random.Generator) -> Brick:
        return random_brick(part, rng, palette=(LegoColor(f"colour-of-{part}", colours[part]),))

    return make
