"""Short-command round trips over a pty at 250000 baud: MarlinHost + virtual Marlin versus a raw echo.

All runs share this process and the same kind of pseudo-terminal, side by side:
1. raw pyserial write + readline against a bare responder that answers every line `ok`;
2. raw pyserial write + readline of pre-framed `N<n> M105*<cs>` lines to the virtual Marlin;
3. MarlinHost.send("M105") to the virtual Marlin.
(3) against (2) is the host's overhead; (3) against (1) adds the virtual firmware's cost.

    python benchmarks/bench_serial_roundtrip.py [--commands 3000]
"""
from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
import tty

import serial

from firmware_bridge.host import HostConfig, MarlinHost
from firmware_bridge.protocol import frame_line
from firmware_bridge.virtual_marlin import VirtualMarlin

BAUD = 250000


def raw_echo_latencies(count: int) -> list[float]:
    """Round-trip times of pyserial write/readline against an `ok` responder on a pty."""
    master, slave = os.openpty()
    tty.setraw(slave)
    path = os.ttyname(slave)
    stop = threading.Event()

    def responder() -> None:
        pending = b""
        while not stop.is_set():
            try:
                pending += os.read(master, 4096)
            except OSError:
                return
            while b"\n" in pending:
                _, pending = pending.split(b"\n", 1)
                os.write(master, b"ok\n")

    thread = threading.Thread(target=responder, daemon=True)
    thread.start()
    port = serial.Serial(path, BAUD, timeout=1.0)
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        port.write(b"M105\n")
        if port.readline() != b"ok\n":
            raise RuntimeError("raw echo lost a reply")
        latencies.append(time.perf_counter() - started)
    stop.set()
    port.close()
    os.close(slave)
    os.close(master)
    return latencies


def raw_to_virtual_marlin_latencies(count: int) -> list[float]:
    """pyserial write/readline of pre-framed numbered lines straight to the virtual Marlin."""
    with VirtualMarlin(time_scale=0) as board:
        port = serial.Serial(board.path, BAUD, timeout=1.0)
        while port.readline().strip() != b"start":  # opening the port resets the board
            pass
        port.write(frame_line(0, "M110 N0"))
        while not port.readline().startswith(b"ok N0"):  # skip the banner: replies now pair up
            pass
        latencies = []
        for n in range(1, count + 1):
            line = frame_line(n, "M105")
            started = time.perf_counter()
            port.write(line)
            reply = port.readline()
            latencies.append(time.perf_counter() - started)
            if not reply.startswith(f"ok N{n} ".encode()):
                raise RuntimeError(f"raw run out of step: {reply!r}")
        port.close()
    return latencies


def host_latencies(count: int) -> list[float]:
    """Round-trip times of MarlinHost.send('M105') against the virtual Marlin."""
    with VirtualMarlin(time_scale=0) as board:
        with MarlinHost(HostConfig(board.path, baud=BAUD)) as host:
            latencies = []
            for _ in range(count):
                started = time.perf_counter()
                host.send("M105")
                latencies.append(time.perf_counter() - started)
            if host.stats.writes != count:
                raise RuntimeError(f"unexpected rewrites on a clean line: {host.stats}")
    return latencies


def summarise(name: str, latencies: list[float]) -> float:
    """Print commands/s and p50/p99 latency; return commands/s."""
    ordered = sorted(latencies)
    rate = len(latencies) / sum(latencies)
    p50 = statistics.median(ordered) * 1e6
    p99 = ordered[int(0.99 * (len(ordered) - 1))] * 1e6
    print(f"{name:<34} {rate:8.0f} cmd/s   p50 {p50:7.0f} us   p99 {p99:7.0f} us")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--commands", type=int, default=3000)
    args = parser.parse_args()
    raw_echo_latencies(200)  # warm up every path before measuring
    raw_to_virtual_marlin_latencies(200)
    host_latencies(200)
    echo = summarise("raw pyserial -> ok responder", raw_echo_latencies(args.commands))
    raw = summarise("raw pyserial -> virtual Marlin", raw_to_virtual_marlin_latencies(args.commands))
    host = summarise("MarlinHost -> virtual Marlin", host_latencies(args.commands))
    print(f"host overhead (MarlinHost vs raw pyserial, same virtual Marlin): {raw / host:.2f}x  (target <= 1.5x)")
    print(f"whole stack vs bare echo responder: {echo / host:.2f}x  (virtual Marlin's own cost included)")


if __name__ == "__main__":
    main()
