"""Finding and opening serial ports: device paths and pyserial URLs alike."""
from __future__ import annotations

import os

import serial
from serial.tools import list_ports as serial_list_ports

from firmware_bridge.errors import PortNotFoundError, PortOpenError


def list_ports() -> list[str]:
    """Device paths of the serial ports present on this machine."""
    return sorted(port.device for port in serial_list_ports.comports())


def is_url(port: str) -> bool:
    """True for pyserial URLs such as `socket://host:port` or `loop://`."""
    return "://" in port


def open_serial(port: str, baud: int, read_timeout_s: float) -> serial.Serial:
    """Open `port` (a path or a pyserial URL) at `baud`.

    A path that does not exist raises PortNotFoundError listing the ports that do;
    any other failure to open raises PortOpenError with pyserial's reason.
    """
    if not is_url(port) and not os.path.exists(port):
        raise PortNotFoundError(port, list_ports())
    try:
        if is_url(port):
            return serial.serial_for_url(port, baudrate=baud, timeout=read_timeout_s)
        return serial.Serial(port, baudrate=baud, timeout=read_timeout_s, exclusive=True)
    except (serial.SerialException, OSError, ValueError, TypeError) as exc:
        # pyserial reports some malformed URLs ("socket://" with no host) as a TypeError.
        raise PortOpenError(f"cannot open serial port {port!r} at {baud} baud: {exc}") from exc
