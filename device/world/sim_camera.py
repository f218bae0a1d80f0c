"""Camera kind `sim`: renders the simulated world's table as the rig's camera would see it now.

    make_camera("sim", world=world)            # as fast as it renders
    make_camera("sim:fps=30,size=300", world=world)   # 300x300 (default 600x600), paced to 30 frames per simulated second
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np

from device.cameras.base import Camera, Frame
from device.cameras.errors import CameraSpecError
from device.cameras.registry import parse_options, register_camera
from device.sim.camera import RIG_FRAME_SIDE
from device.sim.renderer import Renderer
from device.world.world import SimulatedWorld


class SimCamera(Camera):
    """Renders the brick on the simulated table at the turntable's current angle (empty table if none)."""

    def __init__(self, world: SimulatedWorld, size: int = RIG_FRAME_SIDE, fps: float | None = None, seed: int = 0) -> None:
        super().__init__()
        if not 16 <= size <= 4096:
            raise CameraSpecError(f"sim camera size must be 16..4096 pixels, got {size}")
        if fps is not None and fps <= 0:
            raise CameraSpecError(f"sim camera fps must be > 0, got {fps}")
        self.world = world
        self.size = size
        self.fps = fps
        self.seed = seed
        self._renderer: Renderer | None = None
        self._rng = np.random.default_rng(seed)
        self._next_frame_at = 0.0
        self._count = 0

    @property
    def name(self) -> str:
        return f"sim:size={self.size}" + (f",fps={self.fps:g}" if self.fps else "")

    def _open(self) -> None:
        self._renderer = Renderer((self.size, self.size))

    def _read(self) -> Frame:
        self._pace()
        on_table, angle = self.world.observe()
        brick = None if on_table is None else on_table[1]
        image = self._renderer.render(brick, angle, self._rng, look=self.world.look)
        self._count += 1
        metadata = {"frame": self._count, "table_angle_deg": angle, "brick_seq": None if on_table is None else on_table[0]}
        return Frame(image=image, timestamp=time.time(), metadata=metadata)

    def _pace(self) -> None:
        # A live camera delivers frames at its own rate, scaled like every other simulated duration.
        if self.fps is None or self.world.time_scale == 0:
            return
        period = self.world.time_scale / self.fps
        now = time.monotonic()
        if now < self._next_frame_at:
            time.sleep(self._next_frame_at - now)
            now = self._next_frame_at
        self._next_frame_at = now + period

    def _lock_exposure(self) -> dict[str, Any]:
        return {"simulated": True, "look": "fixed per world"}

    def _close(self) -> None:
        self._renderer = None


@register_camera("sim")
def _sim_camera(argument: str, *, world: SimulatedWorld | None = None, **_context: Any) -> SimCamera:
    if world is None:
        raise CameraSpecError("camera 'sim' renders the simulated world: use `bricksort sort --simulate`")
    options = parse_options(argument, "sim")
    unknown = set(options) - {"size", "fps", "seed"}
    if unknown:
        raise CameraSpecError(f"sim camera option(s) {sorted(unknown)} unknown; known: fps, seed, size")
    try:
        size = int(options.get("size", RIG_FRAME_SIDE))
        fps = float(options["fps"]) if "fps" in options else None
        seed = int(options.get("seed", 0))
    except ValueError as exc:
        raise CameraSpecError(f"sim camera option is not a number: {exc}") from None
    return SimCamera(world, size=size, fps=fps, seed=seed)
