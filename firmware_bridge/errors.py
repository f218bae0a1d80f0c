"""Errors the firmware bridge raises.

Hardware and port trouble subclasses OSError (via BridgeError); bad configuration and bad
commands subclass ValueError. Both carry a message written for the person at the rig.
"""
from __future__ import annotations


class BridgeError(OSError):
    """Base for every serial, port and firmware failure."""


class PortNotFoundError(BridgeError):
    """The configured serial port does not exist; the message lists the ports that do."""

    def __init__(self, port: str, available: list[str]) -> None:
        listing = ", ".join(available) if available else "none"
        super().__init__(f"serial port {port!r} does not exist; ports present: {listing}")
        self.port = port
        self.available = available


class PortOpenError(BridgeError):
    """The port exists but could not be opened (permissions, busy, bad settings)."""


class PortVanishedError(BridgeError):
    """The port disappeared while in use (USB unplugged, board power lost)."""


class FirmwareTimeoutError(BridgeError):
    """The firmware stopped answering within the configured timeout."""


class FirmwareResetError(BridgeError):
    """The board reset mid-session (a new `start` banner); motion state is lost."""


class FirmwareHaltedError(BridgeError):
    """The firmware is halted (kill() or M112) and needs a reset before it moves again."""


class FirmwareError(BridgeError):
    """The firmware reported an error about a command it was given."""


class UnknownCommandError(FirmwareError):
    """The firmware does not know a command the host sent."""


class NotConnectedError(BridgeError):
    """A command was issued before connect() or after close()."""


class RigConfigError(ValueError):
    """A rig file is invalid; `field` names the offending field (dotted path; "" for the whole file)."""

    def __init__(self, field: str, problem: str, source: str | None = None) -> None:
        where = "".join(f"{part}: " for part in (source, field) if part)
        super().__init__(f"{where}{problem}")
        self.field = field
        self.source = source


class CommandError(ValueError):
    """A command given to the host or rig is malformed or out of range."""
