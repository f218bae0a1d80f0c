"""One physical brick on the turntable: part, colour, resting pose, place, and the session's look."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from device.sim.colors import PALETTE, LegoColor
from device.sim.look import Look, LookJitter, random_look
from device.sim.parts import part_spec


@dataclass(frozen=True)
class Brick:
    """A simulated brick as it lies on the table at turntable angle 0."""

    part_id: str
    color: LegoColor
    pose: str
    offset_mm: tuple[float, float] = (0.0, 0.0)  # footprint centre relative to the table centre
    yaw_deg: float = 0.0
    look: Look = field(default_factory=Look)

    def __post_init__(self) -> None:
        part_spec(self.part_id).pose(self.pose)  # raises ValueError naming what is valid


def random_brick(
    part_id: str,
    rng: np.random.Generator,
    *,
    palette: tuple[LegoColor, ...] = PALETTE,
    jitter: LookJitter | None = LookJitter(),
    max_offset_mm: float = 5.0,
) -> Brick:
    """A brick of `part_id` in a random colour and stable pose, dropped near the table centre.

    With `jitter` (the default) the session's look (light, white balance, camera placement,
    noise) is drawn too; `jitter=None` keeps the nominal rig's look."""
    spec = part_spec(part_id)
    if not palette:
        raise ValueError("palette must hold at least one colour")
    weights = np.array([pose.weight for pose in spec.poses])
    pose = spec.poses[int(rng.choice(len(spec.poses), p=weights / weights.sum()))]
    radius = max_offset_mm * np.sqrt(rng.uniform())
    direction = rng.uniform(0.0, 2 * np.pi)
    return Brick(
        part_id=part_id,
        color=palette[int(rng.integers(len(palette)))],
        pose=pose.name,
        offset_mm=(float(radius * np.cos(direction)), float(radius * np.sin(direction))),
        yaw_deg=float(rng.uniform(0.0, 360.0)),
        look=random_look(rng, jitter) if jitter is not None else Look(),
    )
