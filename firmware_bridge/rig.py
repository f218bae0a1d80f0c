"""The rig in physical units: turn the table, pick a bin, push, wait, read positions.

Built on MarlinHost; configured by a RigConfig. On connect it applies steps per unit,
speed and acceleration limits (M92/M203/M201/M204), so the firmware's own settings do
not matter.
"""
from __future__ import annotations

from firmware_bridge import protocol
from firmware_bridge.errors import FirmwareError
from firmware_bridge.host import HostConfig, MarlinHost, Reply
from firmware_bridge.motion_time import trapezoid_move_time
from firmware_bridge.rig_config import AxisConfig, RigConfig

POSITION_READ_ATTEMPTS = 3  # an M114 report has no checksum; re-ask if it arrives unreadable


class Rig:
    """The turntable, chute and pusher behind one Marlin board; a context manager."""

    def __init__(self, config: RigConfig, host_config: HostConfig | None = None) -> None:
        self.config = config
        self.host = MarlinHost(
            host_config
            or HostConfig(
                port=config.port,
                baud=config.baud,
                response_timeout_s=config.response_timeout_s,
                long_command_timeout_s=config.long_command_timeout_s,
            )
        )
        self._relative: bool | None = None

    # -- connection ----------------------------------------------------------------------
    def connect(self) -> None:
        """Open the port, reset line numbers, and apply the rig's motion settings."""
        self.host.connect()
        self._relative = None
        axes = list(self.config.axes().values())
        self.host.send("M92 " + " ".join(f"{a.axis}{protocol.gcode_number(a.steps_per_unit)}" for a in axes))
        self.host.send("M203 " + " ".join(f"{a.axis}{protocol.gcode_number(a.speed)}" for a in axes))
        self.host.send("M201 " + " ".join(f"{a.axis}{protocol.gcode_number(a.acceleration)}" for a in axes))
        self.host.send(f"M204 T{protocol.gcode_number(max(a.acceleration for a in axes))}")
        self._set_relative(False)

    def close(self) -> None:
        """Close the port (steppers stay as they are)."""
        self.host.close()

    def reconnect(self) -> None:
        """Close and connect again (after the port vanished or the board reset)."""
        self.close()
        self.connect()

    def __enter__(self) -> "Rig":
        self.connect()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- motion --------------------------------------------------------------------------
    def turn_table(self, degrees: float) -> None:
        """Turn the turntable by `degrees` (relative; positive is the firmware's + direction)."""
        table = self.config.turntable
        self._set_relative(True)
        self.host.send(f"G1 {table.axis}{protocol.gcode_number(degrees)} F{protocol.gcode_number(table.feedrate_per_min)}")

    def select_bin(self, index: int) -> None:
        """Point the chute at bin `index` (0-based); CommandError if there is no such bin."""
        chute = self.config.chute
        angle = chute.bin_angle(index)
        self._set_relative(False)
        self.host.send(f"G1 {chute.axis}{protocol.gcode_number(angle)} F{protocol.gcode_number(chute.feedrate_per_min)}")

    def push(self) -> None:
        """Run the pusher a full stroke out and back."""
        pusher = self.config.pusher
        self._set_relative(False)
        self.host.send(f"G1 {pusher.axis}{protocol.gcode_number(pusher.stroke_mm)} F{protocol.gcode_number(pusher.feedrate_per_min)}")
        self.host.send(f"G1 {pusher.axis}0 F{protocol.gcode_number(pusher.feedrate_per_min)}")

    def wait_for_moves(self) -> None:
        """Block until every queued move has finished (M400): the barrier before a photo."""
        self.host.send("M400")

    def home(self) -> None:
        """Home the axes that have an endstop (G28); the turntable has none and keeps its angle."""
        letters = [a.axis for a in self.config.axes().values() if a.has_endstop]
        if letters:
            self.host.send("G28 " + " ".join(letters))

    def enable_steppers(self) -> None:
        """Energise all stepper drivers (M17)."""
        self.host.send("M17")

    def disable_steppers(self) -> None:
        """Release all stepper drivers once moves finish (M84)."""
        self.host.send("M84")

    def emergency_stop(self) -> None:
        """M112: the firmware halts at once and needs a reset before it moves again."""
        self.host.emergency_stop()

    def send_gcode(self, command: str) -> Reply:
        """Send a raw G-code command (for jogging and diagnostics)."""
        reply = self.host.send(command)
        word = protocol.clean_command(command).split()[0].upper()
        if word in ("G90", "G91"):
            self._relative = word == "G91"
        return reply

    # -- queries -------------------------------------------------------------------------
    def positions(self) -> dict[str, float]:
        """Planned positions by role (turntable and chute in degrees, pusher in mm), from M114."""
        for _ in range(POSITION_READ_ATTEMPTS):
            report = self.host.send("M114").position_report()
            if report is not None and all(a.axis in report.positions for a in self.config.axes().values()):
                return {role: report.positions[a.axis] for role, a in self.config.axes().items()}
        raise FirmwareError(f"no readable M114 position report after {POSITION_READ_ATTEMPTS} attempts")

    def move_time(self, role: str, distance: float) -> float:
        """Seconds a move of `distance` units on axis `role` takes (trapezoid profile, from rest)."""
        axis = self._axis(role)
        return trapezoid_move_time(distance, axis.speed, axis.acceleration)

    def push_time(self) -> float:
        """Seconds for a full pusher stroke out and back."""
        return 2 * self.move_time("pusher", self.config.pusher.stroke_mm)

    def _axis(self, role: str) -> AxisConfig:
        axes = self.config.axes()
        if role not in axes:
            raise ValueError(f"unknown axis role {role!r}; expected one of {', '.join(axes)}")
        return axes[role]

    def _set_relative(self, relative: bool) -> None:
        if self._relative is not relative:
            self.host.send("G91" if relative else "G90")
            self._relative = relative
