"""The digital twin: virtual Marlin on a pty + simulated world + feeder, started together.

The sort loop gets a rig config whose port is the virtual Marlin's pty (a stable symlink,
so a reconnect after `vanish()`/`start()` finds it again) and a `sim` camera bound to the
world: it sends the same G-code through the same pyserial code as with a real RAMPS.
"""
from __future__ import annotations

import dataclasses
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from device.sim.look import Look, LookJitter, random_look
from device.sim.scene import random_brick
from device.world.feeder import BrickFactory, Feeder, FeederConfig
from device.world.world import SimulatedWorld, WorldAxes, WorldFaults
from device.world.world_log import WorldLog
from firmware_bridge.rig_config import RigConfig
from firmware_bridge.virtual_marlin import FaultConfig, VirtualMarlin

# A reply over a local pty takes well under a millisecond, but the sorter shares the CPU with
# the renderer and the interpreter: this much silence is never normal.
MIN_TIMEOUT_S = 0.25
# Marlin sends `busy` every 2 simulated seconds during long commands; two missed ones mean trouble.
KEEPALIVE_PATIENCE_S = 5.0


@dataclass(frozen=True)
class TwinConfig:
    """How the twin runs: mechanical time scale, the feeder, mechanical and serial faults, where its log goes."""

    time_scale: float = 0.0  # 1.0 = real time, 0 = moves are instant
    feeder: FeederConfig = field(default_factory=FeederConfig)
    faults: WorldFaults = field(default_factory=WorldFaults)
    serial_faults: FaultConfig | None = None
    log_path: Path | None = None  # append-only record of fed bricks and bins (the ground truth)
    look_seed: int | None = None  # None: the nominal rig's light and camera; else a random (fixed) one

    def __post_init__(self) -> None:
        if self.time_scale < 0:
            raise ValueError(f"time_scale must be >= 0, got {self.time_scale}")


class DigitalTwin:
    """Owns the virtual Marlin and the world; `start()` returns the rig config to sort with."""

    def __init__(self, rig_config: RigConfig, config: TwinConfig = TwinConfig(), brick_factory: BrickFactory = random_brick):
        self.rig_config = rig_config
        self.config = config
        look = Look() if config.look_seed is None else random_look(np.random.default_rng(config.look_seed), LookJitter())
        self.world = SimulatedWorld(
            WorldAxes.from_rig(rig_config),
            Feeder(config.feeder, brick_factory),
            WorldLog(config.log_path),
            time_scale=config.time_scale,
            look=look,
            faults=config.faults,
        )
        self._folder = tempfile.TemporaryDirectory(prefix="bricksort-twin-")
        self.marlin = VirtualMarlin(
            time_scale=config.time_scale, faults=config.serial_faults, link_path=Path(self._folder.name) / "ramps"
        )
        self.marlin.add_move_listener(self.world.on_move)

    def start(self) -> RigConfig:
        """Start the virtual Marlin; the returned rig config points at its port, with the host's patience scaled.

        The twin runs mechanical time `time_scale` times faster, its busy keep-alives included,
        so the silence after which the host writes a line again (a lost `ok`) scales too."""
        port = self.marlin.start()
        scale = self.config.time_scale
        return dataclasses.replace(
            self.rig_config,
            port=port,
            response_timeout_s=max(MIN_TIMEOUT_S, self.rig_config.response_timeout_s * scale),
            long_command_timeout_s=max(MIN_TIMEOUT_S, KEEPALIVE_PATIENCE_S * scale),
        )

    def stop(self) -> None:
        """Stop the virtual Marlin and close the world's log."""
        try:
            self.marlin.stop()
        finally:
            self.world.log.close()
            self._folder.cleanup()

    def truth(self) -> tuple[str, str] | None:
        """(part, feed seq) of the brick on the table: journalled beside the loop's decision."""
        on_table = self.world.brick_on_table()
        return None if on_table is None else (on_table[1], str(on_table[0]))

    def __enter__(self) -> "DigitalTwin":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
