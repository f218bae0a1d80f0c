"""The rig file: which port, and what each RAMPS axis does, validated on load.

A rig file is TOML. Every field is checked when it is read; errors name the field by its
dotted path (`chute.bins`), unknown fields are rejected so typos never pass silently.
"""
from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from firmware_bridge.errors import CommandError, RigConfigError

AXIS_LETTERS = ("X", "Y", "Z", "E")


def _require_positive(name: str, value: float) -> None:
    if not value > 0:
        raise RigConfigError(name, f"must be greater than 0, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class AxisConfig:
    """One stepper axis: its Marlin letter and motion limits in its own units."""

    axis: str
    steps_per_unit: float  # M92; units are degrees for rotary axes, mm for linear ones
    speed: float  # cruise speed in units/s (Marlin's F is units/min)
    acceleration: float  # units/s^2
    has_endstop: bool = False  # only axes with an endstop are homed by G28

    def __post_init__(self) -> None:
        if self.axis not in AXIS_LETTERS:
            raise RigConfigError("axis", f"must be one of {', '.join(AXIS_LETTERS)}, got {self.axis!r}")
        for name in ("steps_per_unit", "speed", "acceleration"):
            _require_positive(name, getattr(self, name))

    @property
    def feedrate_per_min(self) -> float:
        """Cruise speed as Marlin's F parameter (units per minute)."""
        return self.speed * 60.0


@dataclass(frozen=True, kw_only=True)
class TurntableConfig(AxisConfig):
    """The turntable: rotates without limit, positions in degrees."""


@dataclass(frozen=True, kw_only=True)
class ChuteConfig(AxisConfig):
    """The chute that points at a bin: bin i sits at i * degrees_per_bin."""

    degrees_per_bin: float
    bins: int

    def __post_init__(self) -> None:
        super().__post_init__()
        _require_positive("degrees_per_bin", self.degrees_per_bin)
        if self.bins < 1:
            raise RigConfigError("bins", f"must be at least 1, got {self.bins!r}")

    def bin_angle(self, index: int) -> float:
        """Chute angle in degrees for bin `index`; CommandError outside 0..bins-1."""
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < self.bins:
            raise CommandError(f"bin {index!r} does not exist: this chute has bins 0..{self.bins - 1}")
        return index * self.degrees_per_bin


@dataclass(frozen=True, kw_only=True)
class PusherConfig(AxisConfig):
    """The pusher: a linear stroke out (stroke_mm) and back to 0."""

    stroke_mm: float

    def __post_init__(self) -> None:
        super().__post_init__()
        _require_positive("stroke_mm", self.stroke_mm)


@dataclass(frozen=True, kw_only=True)
class RigConfig:
    """Everything the rig needs: serial settings and the three axes."""

    port: str  # a device path or any pyserial URL
    baud: int = 250000
    response_timeout_s: float = 4.0  # silence tolerated for an ordinary command
    long_command_timeout_s: float = 120.0  # for M400 and G28, extended by busy keep-alives
    turntable: TurntableConfig
    chute: ChuteConfig
    pusher: PusherConfig

    def __post_init__(self) -> None:
        if not self.port:
            raise RigConfigError("serial.port", "must not be empty")
        _require_positive("serial.baud", self.baud)
        _require_positive("serial.response_timeout_s", self.response_timeout_s)
        _require_positive("serial.long_command_timeout_s", self.long_command_timeout_s)
        letters = [self.turntable.axis, self.chute.axis, self.pusher.axis]
        if len(set(letters)) != len(letters):
            raise RigConfigError("axis", f"turntable, chute and pusher must use different axes, got {letters}")

    def axes(self) -> dict[str, AxisConfig]:
        """The axes by role name: turntable, chute, pusher."""
        return {"turntable": self.turntable, "chute": self.chute, "pusher": self.pusher}


_SECTIONS: dict[str, type[AxisConfig]] = {
    "turntable": TurntableConfig,
    "chute": ChuteConfig,
    "pusher": PusherConfig,
}
_SERIAL_FIELDS = {"port": str, "baud": int, "response_timeout_s": float, "long_command_timeout_s": float}


def example_rig_path() -> Path:
    """Path of the example rig file shipped with the package (1/16 microstepping)."""
    return Path(str(resources.files("firmware_bridge") / "examples" / "rig.toml"))


def load_rig_config(path: str | Path) -> RigConfig:
    """Read and validate a rig file; RigConfigError names the field, OSError if unreadable."""
    source = str(path)
    try:
        with open(path, "rb") as handle:
            document = tomllib.load(handle)
    except FileNotFoundError:
        raise FileNotFoundError(f"rig file not found: {source}") from None
    except tomllib.TOMLDecodeError as exc:
        raise RigConfigError("", f"not valid TOML: {exc}", source) from None
    return rig_config_from_dict(document, source)


def rig_config_from_dict(document: dict[str, Any], source: str | None = None) -> RigConfig:
    """Build a RigConfig from parsed TOML, naming the field of the first problem found."""
    _reject_unknown(document, {"serial", *_SECTIONS}, "", source)
    serial_table = _table(document, "serial", source)
    _reject_unknown(serial_table, set(_SERIAL_FIELDS), "serial.", source)
    serial_values = {
        name: _typed(serial_table[name], kind, f"serial.{name}", source)
        for name, kind in _SERIAL_FIELDS.items()
        if name in serial_table
    }
    if "port" not in serial_values:
        raise RigConfigError("serial.port", "is required", source)
    axes = {name: _axis_from_table(name, cls, _table(document, name, source), source) for name, cls in _SECTIONS.items()}
    try:
        return RigConfig(**serial_values, **axes)
    except RigConfigError as exc:
        raise RigConfigError(exc.field, str(exc).split(": ", 1)[1], source) from None


def _axis_from_table(section: str, cls: type[AxisConfig], table: dict[str, Any], source: str | None) -> AxisConfig:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    _reject_unknown(table, set(fields), f"{section}.", source)
    values: dict[str, Any] = {}
    for name, spec in fields.items():
        if name not in table:
            if spec.default is dataclasses.MISSING:
                raise RigConfigError(f"{section}.{name}", "is required", source)
            continue
        kind = {"str": str, "int": int, "float": float, "bool": bool}[str(spec.type)]
        values[name] = _typed(table[name], kind, f"{section}.{name}", source)
    try:
        return cls(**values)
    except RigConfigError as exc:
        raise RigConfigError(f"{section}.{exc.field}", str(exc).split(": ", 1)[1], source) from None


def _table(document: dict[str, Any], name: str, source: str | None) -> dict[str, Any]:
    if name not in document:
        raise RigConfigError(name, "section is missing", source)
    table = document[name]
    if not isinstance(table, dict):
        raise RigConfigError(name, "must be a table", source)
    return table


def _reject_unknown(table: dict[str, Any], known: set[str], prefix: str, source: str | None) -> None:
    unknown = sorted(set(table) - known)
    if unknown:
        raise RigConfigError(
            f"{prefix}{unknown[0]}", f"unknown field (known: {', '.join(sorted(known))})", source
        )


def _typed(value: Any, kind: type, field: str, source: str | None) -> Any:
    # TOML tells ints from floats; accept an int where a float is expected, never a bool.
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, bool) and kind is not bool:
        raise RigConfigError(field, f"must be {kind.__name__}, got a boolean", source)
    if not isinstance(value, kind):
        raise RigConfigError(field, f"must be {kind.__name__}, got {type(value).__name__} {value!r}", source)
    return value
