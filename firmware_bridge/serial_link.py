"""A line-oriented wrapper over an open pyserial port that turns I/O failures into PortVanishedError."""
from __future__ import annotations

import threading
import time

import serial

from firmware_bridge.errors import PortVanishedError


def pop_line(buffer: bytearray) -> bytes | None:
    """Remove and return the first line of `buffer` (ended by LF or CR, as Marlin accepts), or None."""
    ends = [index for index in (buffer.find(b"\n"), buffer.find(b"\r")) if index >= 0]
    if not ends:
        return None
    end = min(ends)
    line = bytes(buffer[:end])
    del buffer[: end + 1]
    return line


class SerialLink:
    """Reads whole reply lines and writes raw bytes; safe to write from a second thread."""

    def __init__(self, port: serial.Serial, name: str) -> None:
        self._port = port
        self._name = name
        self._buffer = bytearray()
        self._write_lock = threading.Lock()

    def write(self, data: bytes) -> None:
        """Send bytes; PortVanishedError if the port is gone."""
        with self._write_lock:
            try:
                self._port.write(data)
            except (serial.SerialException, OSError) as exc:
                raise self._vanished(exc) from exc

    def read_line(self, deadline: float) -> str | None:
        """The next line without its ending, or None once `deadline` (monotonic) passes."""
        while True:
            line = self._take_line()
            if line is not None:
                return line
            if time.monotonic() >= deadline:
                return None
            try:
                waiting = self._port.in_waiting
                chunk = self._port.read(waiting or 1)
            except (serial.SerialException, OSError) as exc:
                raise self._vanished(exc) from exc
            self._buffer.extend(chunk)

    def discard_input(self) -> None:
        """Drop buffered and pending input (stale replies from before a reconnect)."""
        self._buffer.clear()
        try:
            self._port.reset_input_buffer()
        except (serial.SerialException, OSError) as exc:
            raise self._vanished(exc) from exc

    def close(self) -> None:
        """Close the port, ignoring errors from a port that is already gone."""
        try:
            self._port.close()
        except (serial.SerialException, OSError):
            pass

    def _take_line(self) -> str | None:
        while True:
            line = pop_line(self._buffer)
            if line is None:
                return None
            if line:  # blank lines carry nothing
                return line.decode("latin-1")

    def _vanished(self, exc: Exception) -> PortVanishedError:
        return PortVanishedError(f"serial port {self._name} vanished (unplugged or board lost power?): {exc}")
