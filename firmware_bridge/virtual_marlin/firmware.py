"""The firmware side of the virtual Marlin: Marlin 2.1's line protocol and G-code subset.

Receives complete lines, applies Marlin's rules (line number checked first, then the
checksum; an out-of-sequence or damaged line is answered with `Error:...`, the receive
buffer is flushed, then `Resend: last+1` and `ok`), and executes the commands a sorting
rig uses. Anything else is answered `echo:Unknown command` as Marlin does.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Callable

from firmware_bridge import protocol
from firmware_bridge.virtual_marlin.motion import AXES, MotionSettings, MotionSimulator

BUFSIZE = 4  # Marlin's command queue length
FIRMWARE_VERSION = "2.1.2.1"
DEFAULT_FEEDRATE_PER_MIN = 1500.0
_COMMAND = re.compile(r"^([GM])(\d+)")
_PARAM = re.compile(r"([A-Z])\s*([-+]?(?:\d+\.?\d*|\.\d+))?")
_LEADING_INT = re.compile(r"^\s*([-+]?\d+)")
_LINE_PREFIX = re.compile(r"^N-?\d+\s*")


@dataclass(frozen=True)
class FirmwareSettings:
    """Build options of the emulated Marlin that a host can notice."""

    advanced_ok: bool = True  # ADVANCED_OK: `ok N<line> P<planner free> B<queue free>`
    busy_interval_s: float | None = 2.0  # HOST_KEEPALIVE interval in simulated seconds; None = off

    def __post_init__(self) -> None:
        if self.busy_interval_s is not None and self.busy_interval_s <= 0:
            raise ValueError(f"busy_interval_s must be > 0 or None, got {self.busy_interval_s!r}")


def _strtol(text: str) -> int:
    """C's strtol(text, 10) as Marlin uses it: the leading integer, 0 if there is none."""
    match = _LEADING_INT.match(text)
    return int(match.group(1)) if match else 0


class MarlinFirmware:
    """Marlin's command processing for one serial port. Call from a single thread."""

    def __init__(
        self,
        motion: MotionSimulator,
        send: Callable[[str], None],
        flush_rx: Callable[[], None],
        settings: FirmwareSettings,
    ) -> None:
        self._motion = motion
        self._send = send
        self._flush_rx = flush_rx
        self._settings = settings
        self._boot_state()

    def _boot_state(self) -> None:
        self.last_line = 0
        self.relative = False
        self.feedrate_per_min = DEFAULT_FEEDRATE_PER_MIN
        self.steppers_enabled = False
        self.halted = False
        self.motion_settings = MotionSettings()
        self.planned = {axis: 0.0 for axis in AXES}

    # -- lifecycle -----------------------------------------------------------------------
    def boot(self) -> None:
        """A board reset: forget everything, stop motion, print the start banner."""
        self._motion.abort(zero_positions=True)
        self._boot_state()
        spu = self.motion_settings.steps_per_unit
        for line in (
            "start",
            f"echo:Marlin {FIRMWARE_VERSION}",
            "echo: Last Updated: 2023-07-13 | Author: (bricksort, virtual RAMPS 1.4)",
            "echo:Hardcoded Default Settings Loaded",
            "echo:; Steps per unit:",
            f"echo: M92 X{spu['X']:.2f} Y{spu['Y']:.2f} Z{spu['Z']:.2f} E{spu['E']:.2f}",
        ):
            self._send(line)

    # -- line protocol -------------------------------------------------------------------
    def handle_line(self, raw: bytes) -> None:
        """Process one received line (without its end-of-line byte)."""
        text = raw.decode("latin-1").split(";", 1)[0].lstrip(" ")
        if not text.strip() or self.halted:
            return
        if self._command_word(text) == "M112":
            # EMERGENCY_PARSER acts on M112 as it arrives, before any line checks.
            self._kill()
            return
        line_number: int | None = None
        if text.startswith("N"):
            checked = self._check_numbered(text)
            if checked is None:
                return
            line_number, text = checked
        else:
            text = text.split("*", 1)[0]
        self._execute(text.strip(), line_number)

    @staticmethod
    def _command_word(text: str) -> str:
        body = _LINE_PREFIX.sub("", text).split("*", 1)[0].strip()
        return body.split(" ", 1)[0]

    def _check_numbered(self, text: str) -> tuple[int, str] | None:
        """Marlin's get_serial_commands checks; returns (line number, command) or None."""
        is_m110 = "M110" in text
        number_at = text
        if is_m110:
            second_n = text.find("N", 4)
            if second_n >= 0:
                number_at = text[second_n:]
        line = _strtol(number_at[1:])
        if line != self.last_line + 1 and not is_m110:
            self._line_error("Line Number is not Last Line Number+1, Last Line: ")
            return None
        star = text.rfind("*")
        if star < 0:
            self._line_error("No Checksum with line number, Last Line: ")
            return None
        if _strtol(text[star + 1:]) != protocol.checksum(text[:star].encode("latin-1")):
            self._line_error("checksum mismatch, Last Line: ")
            return None
        self.last_line = line
        return _strtol(text[1:]), _LINE_PREFIX.sub("", text[:star])

    def _line_error(self, message: str) -> None:
        self._send(f"Error:{message}{self.last_line}")
        self._flush_rx()
        self._send(f"Resend: {self.last_line + 1}")
        self._send("ok")

    def _ok(self, line_number: int | None) -> None:
        if not self._settings.advanced_ok:
            self._send("ok")
            return
        number = f" N{line_number}" if line_number is not None else ""
        self._send(f"ok{number} P{self._motion.free_blocks - 1} B{BUFSIZE - 1}")

    # -- waiting with keep-alives ----------------------------------------------------------
    def _tick_s(self) -> float:
        interval = self._settings.busy_interval_s or 2.0
        return interval * self._motion.time_scale if self._motion.time_scale else 0.05

    def _keepalive(self) -> None:
        if self._settings.busy_interval_s is not None:
            self._send("echo:busy: processing")

    def _wait_idle(self) -> None:
        self._motion.wait_idle(self._keepalive, self._tick_s())

    # -- commands --------------------------------------------------------------------------
    def _execute(self, command: str, line_number: int | None) -> None:
        match = _COMMAND.match(command)
        name = f"{match.group(1)}{int(match.group(2))}" if match else ""
        params = {letter: value for letter, value in _PARAM.findall(command[match.end():])} if match else {}
        handler = self._handlers().get(name)
        if handler is None:
            self._send(f'echo:Unknown command: "{command}"')
        else:
            handler(command, line_number, params)
        self._ok(line_number)

    def _handlers(self) -> dict[str, Callable[[str, int | None, dict[str, str]], None]]:
        return {
            "G0": self._g1_move, "G1": self._g1_move, "G4": self._g4_dwell, "G28": self._g28_home,
            "G90": self._g90_absolute, "G91": self._g91_relative, "G92": self._g92_set_position,
            "M17": self._m17_enable, "M18": self._m84_disable, "M84": self._m84_disable,
            "M92": self._m92_steps, "M105": self._m105_temperature, "M110": self._m110_line_number,
            "M114": self._m114_position, "M115": self._m115_firmware, "M201": self._m201_max_accel,
            "M203": self._m203_max_speed, "M204": self._m204_accel, "M400": self._m400_finish_moves,
            "M999": self._m999_resume,
        }

    def _g1_move(self, command: str, line_number: int | None, params: dict[str, str]) -> None:
        if params.get("F"):
            self.feedrate_per_min = float(params["F"])
        target = dict(self.planned)
        for axis in AXES:
            if params.get(axis):
                value = float(params[axis])
                target[axis] = self.planned[axis] + value if self.relative else value
        delta = {axis: target[axis] - self.planned[axis] for axis in AXES}
        duration = self.motion_settings.move_duration(delta, self.feedrate_per_min)
        self.steppers_enabled = True
        self._motion.enqueue(command, line_number, target, duration, self._keepalive, self._tick_s())
        self.planned = target

    def _g4_dwell(self, command: str, line_number: int | None, params: dict[str, str]) -> None:
        self._wait_idle()
        seconds = float(params.get("S") or 0) + float(params.get("P") or 0) / 1000.0
        deadline = time.monotonic() + seconds * self._motion.time_scale
        while (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, self._tick_s()))
            if deadline - time.monotonic() > 0:
                self._keepalive()

    def _g28_home(self, command: str, line_number: int | None, params: dict[str, str]) -> None:
        axes = [axis for axis in ("X", "Y", "Z") if axis in params] or ["X", "Y", "Z"]
        self._wait_idle()
        target = dict(self.planned)
        durations = []
        for axis in axes:
            target[axis] = 0.0
            homing_speed = self.motion_settings.max_speed[axis] / 2.0
            durations.append(self.motion_settings.move_duration({axis: self.planned[axis]}, homing_speed * 60.0))
        self.steppers_enabled = True
        self._motion.enqueue(command, line_number, target, max(durations), self._keepalive, self._tick_s())
        self.planned = target
        self._wait_idle()

    def _g90_absolute(self, command: str, line_number: int | None, params: dict[str, str]) -> None:
        self.relative = False

    def _g91_relative(self, command: str, line_number: int | None, params: dict[str, str]) -> None:
        self.relative = True

    def _g92_set_position(self, command: str, line_number: int | None, params: dict[str, str]) -> None:
        self._wait_idle()
        for axis in AXES:
            if params.get(axis):
                self.planned[axis] = float(params[axis])
        self._motion.set_positions(self.planned)

    def _m17_enable(self, command: str, line_number: int | None, params: dict[str, str]) -> None:
        self.steppers_enabled = True

    def _m84_disable(self, command: str, line_number: int | None, params: dict[str, str]) -> None:
        self._wait_idle()
        self.steppers_enabled = False

    def _m92_steps(self, command: str, line_number: int | None, params: dict[str, str]) -> None:
        self._set_per_axis(self.motion_settings.steps_per_unit, params)

    def _m105_temperature(self, command: str, line_number: int | None, params: dict[str, str]) -> None:
        """No heaters on this rig: nothing to report beyond the ok."""

    def _m110_line_number(self, command: str, line_number: int | None, params: dict[str, str]) -> None:
        if params.get("N"):
            self.last_line = int(float(params["N"]))

    def _m114_position(self, command: str, line_number: int | None, params: dict[str, str]) -> None:
        p = self.planned
        physical = self._motion.positions
        spu = self.motion_settings.steps_per_unit
        counts = " ".join(f"{axis}:{round(physical[axis] * spu[axis])}" for axis in ("X", "Y", "Z"))
        self._send(f"X:{p['X']:.2f} Y:{p['Y']:.2f} Z:{p['Z']:.2f} E:{p['E']:.2f} Count {counts}")

    def _m115_firmware(self, command: str, line_number: int | None, params: dict[str, str]) -> None:
        self._send(
            f"FIRMWARE_NAME:Marlin {FIRMWARE_VERSION} (bricksort virtual) SOURCE_CODE_URL:github.com/MarlinFirmware/Marlin"
            " PROTOCOL_VERSION:1.0 MACHINE_TYPE:bricksort EXTRUDER_COUNT:0"
        )

    def _m201_max_accel(self, command: str, line_number: int | None, params: dict[str, str]) -> None:
        self._set_per_axis(self.motion_settings.max_acceleration, params)

    def _m203_max_speed(self, command: str, line_number: int | None, params: dict[str, str]) -> None:
        self._set_per_axis(self.motion_settings.max_speed, params)

    def _m204_accel(self, command: str, line_number: int | None, params: dict[str, str]) -> None:
        value = params.get("T") or params.get("S")
        if value:
            self.motion_settings.travel_acceleration = float(value)

    def _m400_finish_moves(self, command: str, line_number: int | None, params: dict[str, str]) -> None:
        self._wait_idle()

    def _m999_resume(self, command: str, line_number: int | None, params: dict[str, str]) -> None:
        """Resumes after a Stop; a kill (M112) is only cleared by a reset, which this is not."""

    @staticmethod
    def _set_per_axis(table: dict[str, float], params: dict[str, str]) -> None:
        for axis in AXES:
            if params.get(axis) and float(params[axis]) > 0:
                table[axis] = float(params[axis])

    def _kill(self) -> None:
        self._motion.abort()
        self.halted = True
        self.steppers_enabled = False
        self._send(f"Error:{protocol.ERROR_KILLED}")
