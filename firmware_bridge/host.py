"""MarlinHost: speaks Marlin's line protocol the way production hosts do.

One numbered, checksummed line is outstanding at a time. The firmware's line-number
check is what guarantees a move is never run twice: Marlin refuses any numbered line
that is not last+1. The host's job is to make sure every line is eventually accepted,
in order, and to know when that happened:

* With ADVANCED_OK (`ok N<n> P.. B..`) a line counts as done only when an `ok` names it.
* Every line written draws exactly one terminating `ok` (after an error Marlin sends
  `Resend: n` then a bare `ok`), so the host counts replies still due. A `Resend` that
  belongs to an older write (a timeout retransmission, say) is stale and ignored.
* `Resend: k+1` for the outstanding line k means the firmware already has k (its `ok`
  was lost); the host believes that only when the firmware says it twice, because a
  single flipped bit in `Resend: k` reads the same.
* Silence past the timeout (extended by `echo:busy:` keep-alives) means a lost `ok` or
  a lost line end: the host writes the same line again, which is always safe.
"""
from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable, Iterable

from firmware_bridge import ports, protocol
from firmware_bridge.errors import (
    FirmwareError,
    FirmwareHaltedError,
    FirmwareResetError,
    FirmwareTimeoutError,
    NotConnectedError,
    UnknownCommandError,
)
from firmware_bridge.serial_link import SerialLink

# Commands that legitimately keep the firmware silent (apart from keep-alives) for long.
LONG_COMMANDS = frozenset({"G4", "G28", "G29", "M18", "M84", "M400"})
RESET_LINE_NUMBERS = "M110 N0"


@dataclass(frozen=True)
class HostConfig:
    """How to reach the board and how patient to be with it."""

    port: str  # a device path or any pyserial URL
    baud: int = 250000
    response_timeout_s: float = 4.0  # silence tolerated before a line is written again
    long_command_timeout_s: float = 120.0  # the same for LONG_COMMANDS, extended by keep-alives
    banner_wait_s: float = 2.5  # after opening, how long to wait for `start` before probing
    connect_timeout_s: float = 10.0  # the whole handshake
    silent_retries: int = 3  # timeouts in a row with no byte received before giving up
    settle_s: float = 0.02  # quiet time awaited after a line that needed rewriting (see _settle)
    max_writes_per_line: int = 200  # a line rejected this often means the link is unusable
    history_size: int = 512  # lines kept for resends

    def __post_init__(self) -> None:
        if not self.port:
            raise ValueError("host port must not be empty")
        for name in ("baud", "response_timeout_s", "long_command_timeout_s", "connect_timeout_s",
                     "silent_retries", "max_writes_per_line", "history_size"):
            if not getattr(self, name) > 0:
                raise ValueError(f"host {name} must be > 0, got {getattr(self, name)!r}")
        for name in ("banner_wait_s", "settle_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"host {name} must be >= 0, got {getattr(self, name)!r}")


@dataclass
class HostStats:
    """Counters since connect: what it took to get the lines through."""

    lines_acknowledged: int = 0
    writes: int = 0
    resend_requests: int = 0  # Resend requests acted on
    timeouts: int = 0
    keepalives: int = 0


@dataclass(frozen=True)
class Reply:
    """A command's acknowledgement and the informational lines that came with it."""

    command: str
    line_number: int
    ok: protocol.Ok
    events: tuple[protocol.Event, ...] = ()

    def position_report(self) -> protocol.PositionReport | None:
        """The M114 report among the events, if any."""
        reports = [event for event in self.events if isinstance(event, protocol.PositionReport)]
        return reports[-1] if reports else None


@dataclass
class _Exchange:
    """Book-keeping while the host works one target line through."""

    target: int
    timeout_s: float
    outstanding: int = -1
    writes_of_outstanding: int = 0
    already_have_votes: int = 0  # `Resend: outstanding+1` heard since outstanding was written
    silent_timeouts: int = 0
    unknown: set[str] = field(default_factory=set)
    events: list[protocol.Event] = field(default_factory=list)


class MarlinHost:
    """A connection to Marlin: `connect()`, then `send()` commands; a context manager."""

    def __init__(self, config: HostConfig) -> None:
        self.config = config
        self.stats = HostStats()
        self.advanced_ok = False  # becomes True once an `ok N<n>` acknowledges a line
        self.banner: list[str] = []
        self._link: SerialLink | None = None
        self._history: OrderedDict[int, tuple[str, bytes]] = OrderedDict()
        self._next_line = 1
        self._first_resendable = 1
        self._halted = False
        self._replies_due = 0  # lines written whose terminating ok has not arrived yet
        self._settle_before_next_write = False

    # -- connection ----------------------------------------------------------------------
    def connect(self) -> None:
        """Open the port, let a resetting board boot, and reset line numbering (M110)."""
        if self._link is not None:
            return
        read_timeout = min(0.02, self.config.response_timeout_s / 4)
        serial_port = ports.open_serial(self.config.port, self.config.baud, read_timeout)
        self._link = SerialLink(serial_port, self.config.port)
        try:
            self._handshake()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Close the port (idempotent)."""
        if self._link is not None:
            self._link.close()
            self._link = None

    def reconnect(self) -> None:
        """Close and connect again, e.g. after the port vanished or the board reset."""
        self.close()
        self.connect()

    def __enter__(self) -> "MarlinHost":
        self.connect()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def connected(self) -> bool:
        """True between a successful connect() and close()."""
        return self._link is not None

    def _handshake(self) -> None:
        self.stats = HostStats()
        self.banner = []
        self.advanced_ok = False
        self._halted = False
        self._replies_due = 0
        self._settle_before_next_write = False
        self._history.clear()
        link = self._require_link()
        deadline = time.monotonic() + self.config.banner_wait_s
        while (line := link.read_line(deadline)) is not None:
            self.banner.append(line)
            if isinstance(protocol.parse_reply(line), protocol.Start):
                break
        # Line 0 resets numbering; it is never resent later, because repeating an M110
        # after newer lines were accepted would let the firmware accept them twice.
        self._history[0] = (RESET_LINE_NUMBERS, protocol.frame_line(0, RESET_LINE_NUMBERS))
        self._first_resendable = 0
        try:
            self._work_through(0, self.config.connect_timeout_s / self.config.silent_retries, allow_start=True)
        except FirmwareTimeoutError as exc:
            raise FirmwareTimeoutError(
                f"no answer from a Marlin board on {self.config.port} at {self.config.baud} baud "
                f"(is it the right port and baud rate?): {exc}"
            ) from None
        self._history.clear()
        self._next_line = 1
        self._first_resendable = 1
        self.stats = HostStats()  # count the session, not the handshake

    # -- commands ------------------------------------------------------------------------
    def send(self, command: str, timeout_s: float | None = None) -> Reply:
        """Send one G-code command and wait until the firmware acknowledges it.

        Long commands (M400, G28, ...) get the long timeout; keep-alives extend either.
        """
        cleaned = protocol.validate_command(command)
        if cleaned.split()[0].upper() == "M112":
            self.emergency_stop()
            raise FirmwareHaltedError("M112 sent: the firmware is halted until the board is reset")
        if self._halted:
            raise FirmwareHaltedError(
                f"the firmware on {self.config.port} is halted (M112 or kill); reset the board and reconnect"
            )
        line_number = self._next_line
        self._next_line += 1
        self._history[line_number] = (cleaned, protocol.frame_line(line_number, cleaned))
        while len(self._history) > self.config.history_size:
            oldest, _ = self._history.popitem(last=False)
            self._first_resendable = oldest + 1
        if timeout_s is None:
            word = cleaned.split()[0].upper()
            timeout_s = self.config.long_command_timeout_s if word in LONG_COMMANDS else self.config.response_timeout_s
        return self._work_through(line_number, timeout_s, allow_start=False)

    def stream(self, commands: Iterable[str], on_sent: Callable[[Reply], None] | None = None) -> int:
        """Send each non-blank, non-comment line in order; returns how many were sent."""
        sent = 0
        for raw in commands:
            if not protocol.clean_command(raw):
                continue
            reply = self.send(raw)
            sent += 1
            if on_sent is not None:
                on_sent(reply)
        return sent

    def emergency_stop(self) -> None:
        """Send M112 unnumbered, as Marlin's emergency parser expects; safe from any thread."""
        self._require_link().write(b"M112\n")
        self._halted = True

    # -- the protocol engine -------------------------------------------------------------
    def _require_link(self) -> SerialLink:
        if self._link is None:
            raise NotConnectedError(f"not connected to {self.config.port}: call connect() first")
        return self._link

    def _write(self, exchange: _Exchange, line_number: int) -> None:
        if self._settle_before_next_write:
            self._settle()
        if line_number != exchange.outstanding:
            exchange.writes_of_outstanding = 0
            exchange.already_have_votes = 0
            exchange.unknown.clear()
        exchange.outstanding = line_number
        exchange.writes_of_outstanding += 1
        if exchange.writes_of_outstanding > self.config.max_writes_per_line:
            raise FirmwareError(
                f"line {line_number} ({self._history[line_number][0]!r}) was written "
                f"{self.config.max_writes_per_line} times without being accepted: the serial link is too noisy"
            )
        self._replies_due += 1
        if line_number == exchange.target:
            exchange.events.clear()
        self._require_link().write(self._history[line_number][1])
        self.stats.writes += 1

    def _work_through(self, target: int, timeout_s: float, allow_start: bool) -> Reply:
        """Write lines until `target` is acknowledged (earlier ones first after a rewind)."""
        link = self._require_link()
        exchange = _Exchange(target=target, timeout_s=timeout_s)
        self._write(exchange, target)
        deadline = time.monotonic() + timeout_s
        while True:
            line = link.read_line(deadline)
            if line is None:
                self._on_timeout(exchange)
                deadline = time.monotonic() + timeout_s
                continue
            exchange.silent_timeouts = 0
            event = protocol.parse_reply(line)
            if isinstance(event, protocol.Busy):
                self.stats.keepalives += 1
                deadline = time.monotonic() + timeout_s
                continue
            acknowledged = self._on_event(exchange, event, allow_start)
            if acknowledged is None:
                continue
            self.stats.lines_acknowledged += 1
            # A line written more than once may still draw an answer to a surplus copy
            # (`Resend: next`); taken for an answer to the next line it would make the host
            # write every later line twice. Let those answers arrive first.
            self._settle_before_next_write = exchange.writes_of_outstanding > 1
            command = self._history[exchange.outstanding][0]
            if command in exchange.unknown:
                raise UnknownCommandError(f"the firmware does not know the command {command!r}")
            if exchange.outstanding == target:
                return Reply(command, target, acknowledged, tuple(exchange.events))
            self._write(exchange, exchange.outstanding + 1)
            deadline = time.monotonic() + timeout_s

    def _on_event(self, exchange: _Exchange, event: protocol.Event, allow_start: bool) -> protocol.Ok | None:
        """Handle one reply; returns the Ok when it acknowledges the outstanding line."""
        if isinstance(event, protocol.Ok):
            return self._on_ok(exchange, event)
        if isinstance(event, protocol.Resend):
            return self._on_resend(exchange, event.line_number)
        if isinstance(event, protocol.Start) and allow_start:
            self._replies_due = 0  # the reset swallowed whatever we wrote before it
            self._write(exchange, exchange.outstanding)
            return None
        self._raise_if_fatal(event)
        if isinstance(event, protocol.UnknownCommand):
            exchange.unknown.add(event.command)
        if exchange.outstanding == exchange.target:
            exchange.events.append(event)
        return None

    def _on_ok(self, exchange: _Exchange, ok: protocol.Ok) -> protocol.Ok | None:
        self._replies_due = max(0, self._replies_due - 1)
        if ok.line_number is not None:
            if ok.line_number == exchange.outstanding:
                self.advanced_ok = True
                return ok
            return None  # a late ok for an earlier write
        if self._replies_due > 0:
            return None  # ends the reply to an earlier write (e.g. the ok after a Resend)
        if not self.advanced_ok:
            return ok  # plain Marlin: a bare ok answering our latest write is its ack
        # ADVANCED_OK firmware answered our latest write with a bare ok: its Resend (or the
        # ok's own line number) was damaged on the way. Writing the line again is safe.
        self._write(exchange, exchange.outstanding)
        return None

    def _on_resend(self, exchange: _Exchange, requested: int) -> protocol.Ok | None:
        if requested == exchange.target + 1:
            # The firmware already accepted the target line (its ok was lost). Believe that
            # only on the second hearing: a flipped low bit turns `Resend: k` into `Resend: k+1`.
            exchange.already_have_votes += 1
            if exchange.already_have_votes >= 2:
                exchange.outstanding = exchange.target
                return protocol.Ok(exchange.target)
            if self._replies_due <= 1:
                self._write(exchange, exchange.target)
            return None
        if self._replies_due > 1 or not self._first_resendable <= requested <= exchange.target:
            return None  # stale (answers an earlier write), or a line number damaged in transit
        # Going back re-sends lines the firmware lacks; going forward skips lines it has.
        # Either way its line-number check refuses anything out of order, so a damaged
        # number costs a round trip, never a lost or repeated move.
        self.stats.resend_requests += 1
        self._write(exchange, requested)
        return None

    def _settle(self) -> None:
        """Consume answers to surplus copies of an acknowledged line until the link is quiet."""
        self._settle_before_next_write = False
        link = self._require_link()
        give_up = time.monotonic() + 10 * self.config.settle_s
        while (line := link.read_line(min(give_up, time.monotonic() + self.config.settle_s))) is not None:
            self._raise_if_fatal(protocol.parse_reply(line))
        self._replies_due = 0

    def _raise_if_fatal(self, event: protocol.Event) -> None:
        """Raise for a halted firmware or an unexpected board reset."""
        if isinstance(event, protocol.FirmwareErrorLine) and event.kind is protocol.ErrorKind.HALTED:
            self._halted = True
            raise FirmwareHaltedError(f"the firmware on {self.config.port} halted: {event.message}")
        if isinstance(event, protocol.Start):
            raise FirmwareResetError(
                f"the board on {self.config.port} reset unexpectedly (new start banner): "
                "its positions are lost; reconnect and home before moving"
            )

    def _on_timeout(self, exchange: _Exchange) -> None:
        self.stats.timeouts += 1
        exchange.silent_timeouts += 1
        if exchange.silent_timeouts >= self.config.silent_retries:
            raise FirmwareTimeoutError(
                f"the firmware on {self.config.port} stopped answering: nothing received for "
                f"{exchange.silent_timeouts} x {exchange.timeout_s:g} s while waiting for line "
                f"{exchange.outstanding} ({self._history[exchange.outstanding][0]!r})"
            )
        # Replies to earlier writes are now presumed lost.
        self._replies_due = 0
        self._write(exchange, exchange.outstanding)
