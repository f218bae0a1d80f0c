"""VirtualMarlin: the emulated board behind a pseudo-terminal that pyserial opens like a RAMPS.

Three threads: the port thread moves bytes between the pty and the firmware (applying
faults, noticing when a host opens or closes the port), the firmware thread runs Marlin's
command loop, and the motion thread executes moves.
"""
from __future__ import annotations

import errno
import os
import select
import threading
import time
import tty
from pathlib import Path
from typing import Callable

from firmware_bridge.serial_link import pop_line
from firmware_bridge.virtual_marlin.faults import FaultConfig, byte_faults_pair
from firmware_bridge.virtual_marlin.firmware import FirmwareSettings, MarlinFirmware
from firmware_bridge.virtual_marlin.motion import ExecutedMove, MotionSimulator

_POLL_S = 0.005  # how often the port thread checks for an opened/closed port or stop


class VirtualMarlin:
    """A Marlin 2.1 stand-in on a pty.

    Opening the port resets the board like an Arduino Mega's auto-reset (new `start`
    banner, line numbers and positions back to 0) unless `reset_on_open` is False.
    `positions` are Marlin's machine positions (degrees or mm), zeroed by every reset;
    observers that track the physical world should add up each move's end - start.
    """

    def __init__(
        self,
        time_scale: float = 1.0,
        faults: FaultConfig | None = None,
        *,
        settings: FirmwareSettings | None = None,
        reset_on_open: bool = True,
        link_path: str | Path | None = None,
    ) -> None:
        self._motion = MotionSimulator(time_scale)
        self._settings = settings or FirmwareSettings()
        self._reset_on_open = reset_on_open
        self._link_path = Path(link_path) if link_path else None
        self._faults = faults or FaultConfig()
        self._to_firmware, self._to_host = byte_faults_pair(self._faults)
        self._rx = bytearray()
        self._rx_cond = threading.Condition()
        self._boot_requested = False
        self._write_lock = threading.Lock()
        self._master: int | None = None
        self._path: str | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._firmware = MarlinFirmware(self._motion, self._send_line, self._flush_rx, self._settings)

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> str:
        """Create the pty and serve it; returns the path a host opens (the link if one was asked for)."""
        if self._master is not None:
            raise RuntimeError("virtual Marlin is already running")
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo or newline translation before the host configures the port
        self._path = os.ttyname(slave)
        os.close(slave)  # with no slave open the master sees POLLHUP: that is how we notice a host opening it
        os.set_blocking(master, False)
        self._master = master
        if self._link_path:
            self._link_path.unlink(missing_ok=True)
            self._link_path.symlink_to(self._path)
        self._stop.clear()
        with self._rx_cond:
            self._rx.clear()
            self._boot_requested = False
        self._threads = [
            threading.Thread(target=self._port_loop, name="virtual-marlin-port", daemon=True),
            threading.Thread(target=self._firmware_loop, name="virtual-marlin-firmware", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        return str(self._link_path) if self._link_path else self._path

    def vanish(self) -> None:
        """The port disappears, as when the USB cable is pulled; start() plugs it back in."""
        self._stop.set()
        with self._rx_cond:
            self._rx_cond.notify_all()
        for thread in self._threads:
            thread.join(timeout=5.0)
        self._threads = []
        if self._link_path:
            self._link_path.unlink(missing_ok=True)
        master, self._master = self._master, None
        if master is not None:
            os.close(master)

    def stop(self) -> None:
        """Stop serving and release the motion thread."""
        self.vanish()
        self._motion.close()

    def __enter__(self) -> "VirtualMarlin":
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Reset the board (as its reset button does): new banner, state lost."""
        with self._rx_cond:
            self._boot_requested = True
            self._rx_cond.notify_all()

    def set_faults(self, faults: FaultConfig | None) -> None:
        """Change the fault injection from now on (None = a clean line)."""
        self._faults = faults or FaultConfig()
        self._to_firmware, self._to_host = byte_faults_pair(self._faults)

    # -- observation ---------------------------------------------------------------------
    @property
    def path(self) -> str | None:
        """The pty path while running, else None."""
        return self._path if self._master is not None else None

    @property
    def positions(self) -> dict[str, float]:
        """Axis positions (X, Y, Z, E) after the last completed move, in machine units."""
        return self._motion.positions

    @property
    def executed_moves(self) -> list[ExecutedMove]:
        """Every completed move, oldest first."""
        return self._motion.executed_moves

    @property
    def steppers_enabled(self) -> bool:
        """Whether the stepper drivers are energised."""
        return self._firmware.steppers_enabled

    @property
    def halted(self) -> bool:
        """True after M112 until the next reset."""
        return self._firmware.halted

    def add_move_listener(self, callback: Callable[[ExecutedMove], None]) -> None:
        """Call `callback(move)` (on the motion thread) as each move completes."""
        self._motion.add_listener(callback)

    # -- byte plumbing -------------------------------------------------------------------
    def _send_line(self, line: str) -> None:
        if self._faults.reply_delay_s:
            time.sleep(self._faults.reply_delay_s)
        data = self._to_host.apply(line.encode("latin-1") + b"\n")
        master = self._master
        if master is None:
            return
        with self._write_lock:
            try:
                os.write(master, data)
            except OSError as exc:
                # No host has the port open (EIO) or it is not reading (EAGAIN): the bytes
                # are lost, as on a real serial line nobody listens to.
                if exc.errno not in (errno.EIO, errno.EAGAIN, errno.EBADF):
                    raise

    def _flush_rx(self) -> None:
        with self._rx_cond:
            self._rx.clear()

    def _port_loop(self) -> None:
        poller = select.poll()
        poller.register(self._master, select.POLLIN)
        host_attached = False
        while not self._stop.is_set():
            events = poller.poll(_POLL_S * 1000)
            hung_up = any(flags & select.POLLHUP for _, flags in events)
            if hung_up:
                host_attached = False
                time.sleep(_POLL_S)
                continue
            if not host_attached:
                host_attached = True
                if self._reset_on_open:
                    self.reset()
            if any(flags & select.POLLIN for _, flags in events):
                try:
                    data = os.read(self._master, 4096)
                except OSError:
                    continue
                data = self._to_firmware.apply(data)
                with self._rx_cond:
                    self._rx.extend(data)
                    self._rx_cond.notify_all()

    def _next_line(self) -> bytes | None:
        """Wait for a complete line (or a boot request, returned as None)."""
        with self._rx_cond:
            while not self._stop.is_set():
                if self._boot_requested:
                    self._boot_requested = False
                    self._rx.clear()
                    return None
                line = pop_line(self._rx)
                if line is not None:
                    return line
                self._rx_cond.wait(0.1)
            raise _Stopped

    def _firmware_loop(self) -> None:
        try:
            while True:
                line = self._next_line()
                if line is None:
                    self._firmware.boot()
                elif line:
                    self._firmware.handle_line(line)
        except _Stopped:
            return


class _Stopped(Exception):
    """Internal: the firmware loop was asked to stop."""
