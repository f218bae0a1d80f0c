"""Marlin's serial protocol: framing numbered lines and parsing replies into typed events.

Lines go out as `N<n> <command>*<checksum>`, the checksum being the XOR of every byte
before `*`. Replies are classified here once so the host never string-matches twice.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from enum import Enum

from firmware_bridge.errors import CommandError


def checksum(data: bytes) -> int:
    """XOR of all bytes, as Marlin computes it over everything before `*`."""
    value = 0
    for byte in data:
        value ^= byte
    return value


def frame_line(line_number: int, command: str) -> bytes:
    """Encode `command` as the numbered, checksummed line Marlin expects, with newline."""
    body = f"N{line_number} {command}".encode("ascii")
    return body + b"*" + str(checksum(body)).encode("ascii") + b"\n"


def gcode_number(value: float, decimals: int = 4) -> str:
    """`value` as a G-code parameter: fixed point, at most `decimals` places, no trailing zeros.
    Never an exponent: Marlin stops reading a number at the 'e' of "1e-05" (a 1 unit move) and
    reads the "E-05" after it as an extruder move. CommandError for NaN and infinities."""
    if not math.isfinite(value):
        raise CommandError(f"G-code numbers must be finite, got {value}")
    text = f"{value:.{decimals}f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def clean_command(command: str) -> str:
    """Strip comments and surrounding blanks; '' for a line that carries no command."""
    return command.split(";", 1)[0].strip()


def validate_command(command: str) -> str:
    """Return the cleaned command or raise CommandError if it cannot be sent as one line."""
    cleaned = clean_command(command)
    if not cleaned:
        raise CommandError(f"empty G-code command: {command!r}")
    if any(ch in cleaned for ch in "\r\n*") or not cleaned.isascii():
        raise CommandError(f"G-code command must be one ASCII line without '*': {command!r}")
    return cleaned


class ErrorKind(Enum):
    """The firmware errors the host tells apart."""

    CHECKSUM_MISMATCH = "checksum mismatch"
    LINE_NUMBER = "line number is not last line number+1"
    NO_CHECKSUM = "no checksum with line number"
    NO_LINE_NUMBER = "no line number with checksum"
    HALTED = "printer halted"
    OTHER = "other"


# Marlin 2.1 strings (language.h), matched case-insensitively as hosts do.
ERROR_CHECKSUM_MISMATCH = "checksum mismatch"
ERROR_LINE_NUMBER = "Line Number is not Last Line Number+1"
ERROR_NO_CHECKSUM = "No Checksum with line number"
ERROR_NO_LINE_NUMBER = "No Line Number with checksum"
ERROR_KILLED = "Printer halted. kill() called!"
BUSY_PROCESSING = "busy: processing"
UNKNOWN_COMMAND = "Unknown command: "


@dataclass(frozen=True)
class Ok:
    """`ok`, with ADVANCED_OK's line number and free planner/buffer slots when present."""

    line_number: int | None = None
    planner_free: int | None = None
    buffer_free: int | None = None


@dataclass(frozen=True)
class Resend:
    """`Resend: n` (or `rs n`): the firmware wants line n next."""

    line_number: int


@dataclass(frozen=True)
class FirmwareErrorLine:
    """An `Error:` line; `last_line` is set for the protocol errors."""

    kind: ErrorKind
    message: str
    last_line: int | None = None


@dataclass(frozen=True)
class Busy:
    """`echo:busy: <reason>` keep-alive sent during long commands."""

    reason: str


@dataclass(frozen=True)
class Start:
    """The `start` banner printed after a board reset."""


@dataclass(frozen=True)
class UnknownCommand:
    """`echo:Unknown command: "<cmd>"`."""

    command: str


@dataclass(frozen=True)
class PositionReport:
    """An `M114` report: logical positions and, when present, stepper counts."""

    positions: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Echo:
    """Any other `echo:` line."""

    text: str


@dataclass(frozen=True)
class Unrecognised:
    """A line that fits no known shape (often noise or a corrupted reply)."""

    text: str


Event = Ok | Resend | FirmwareErrorLine | Busy | Start | UnknownCommand | PositionReport | Echo | Unrecognised

# Marlin never prints a leading zero, so a number with one was damaged on the wire.
_NUMBER = r"(0|-?[1-9]\d*)"
_OK_FIELD = re.compile(r"\s([NPB])" + _NUMBER + r"(?=\s|$)")
_RESEND = re.compile(r"^(?:Resend:|rs)\s*N?" + _NUMBER + r"\s*$", re.IGNORECASE)
_LAST_LINE = re.compile(r"Last Line:\s*(-?\d+)\s*$")
_AXIS_VALUE = re.compile(r"([XYZEABCUVW]):\s*(-?\d+(?:\.\d+)?)(?=\s|$)")
_M114 = re.compile(r"^X:-?\d+(?:\.\d+)?\s+Y:")


def parse_reply(line: str) -> Event:
    """Classify one reply line (without its line ending) from the firmware."""
    text = line.strip()
    if text == "ok" or text.startswith("ok "):
        return _parse_ok(text)
    resend = _RESEND.match(text)
    if resend:
        return Resend(int(resend.group(1)))
    if text.startswith("Error:") or text.startswith("!!"):
        return _parse_error(text.removeprefix("Error:").removeprefix("!!").strip())
    if text == "start":
        return Start()
    if text.startswith("echo:"):
        return _parse_echo(text.removeprefix("echo:"))
    if _M114.match(text):
        return _parse_position(text)
    return Unrecognised(text)


def _parse_ok(text: str) -> Ok:
    fields = {key: int(value) for key, value in _OK_FIELD.findall(text)}
    return Ok(fields.get("N"), fields.get("P"), fields.get("B"))


def _parse_error(message: str) -> FirmwareErrorLine:
    lowered = message.lower()
    last = _LAST_LINE.search(message)
    last_line = int(last.group(1)) if last else None
    for marker, kind in (
        (ERROR_CHECKSUM_MISMATCH, ErrorKind.CHECKSUM_MISMATCH),
        (ERROR_LINE_NUMBER, ErrorKind.LINE_NUMBER),
        (ERROR_NO_CHECKSUM, ErrorKind.NO_CHECKSUM),
        (ERROR_NO_LINE_NUMBER, ErrorKind.NO_LINE_NUMBER),
        (ERROR_KILLED, ErrorKind.HALTED),
    ):
        if lowered.startswith(marker.lower()):
            return FirmwareErrorLine(kind, message, last_line)
    return FirmwareErrorLine(ErrorKind.OTHER, message, last_line)


def _parse_echo(body: str) -> Event:
    stripped = body.strip()
    if stripped.startswith(BUSY_PROCESSING.split(":")[0] + ":"):
        return Busy(stripped.split(":", 1)[1].strip())
    if stripped.startswith(UNKNOWN_COMMAND):
        return UnknownCommand(stripped.removeprefix(UNKNOWN_COMMAND).strip().strip('"'))
    return Echo(stripped)


def _parse_position(text: str) -> PositionReport:
    logical, _, counts = text.partition("Count")
    return PositionReport(
        positions={axis: float(value) for axis, value in _AXIS_VALUE.findall(logical)},
        counts={axis: int(float(value)) for axis, value in _AXIS_VALUE.findall(counts)},
    )
