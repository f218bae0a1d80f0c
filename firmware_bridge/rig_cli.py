"""`bricksort rig ...`: stream a G-code file, jog, home, toggle steppers, read positions."""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from firmware_bridge import ports, protocol
from firmware_bridge.host import HostConfig, MarlinHost
from firmware_bridge.rig_config import load_rig_config


def host_config_from_args(args: argparse.Namespace) -> HostConfig:
    """Port, baud and timeouts from --port/--baud, falling back to the --rig file."""
    rig = load_rig_config(args.rig) if args.rig else None
    port = args.port or (rig.port if rig else None)
    if not port:
        raise ValueError("no serial port: pass --port PORT or --rig RIG.toml")
    if rig is None:
        return HostConfig(port=port, baud=250000 if args.baud is None else args.baud)
    return HostConfig(
        port=port,
        baud=rig.baud if args.baud is None else args.baud,  # an explicit 0 must be refused, not replaced
        response_timeout_s=rig.response_timeout_s,
        long_command_timeout_s=rig.long_command_timeout_s,
    )


def run_rig_command(args: argparse.Namespace) -> int:
    """Dispatch one `bricksort rig` action; returns the exit code."""
    if args.rig_command == "ports":
        for port in ports.list_ports():
            print(port)
        return 0
    if args.rig_command == "stream":
        lines = _read_gcode(Path(args.file))
    with MarlinHost(host_config_from_args(args)) as host:
        if args.rig_command == "stream":
            return _stream(host, lines)
        if args.rig_command == "jog":
            host.send("G91")
            host.send(f"G1 {args.axis}{protocol.gcode_number(args.distance)} F{protocol.gcode_number(args.feedrate)}")
            host.send("G90")
            host.send("M400")
        elif args.rig_command == "home":
            host.send(" ".join(["G28", *args.axes]))
        elif args.rig_command == "enable":
            host.send("M17")
        elif args.rig_command == "disable":
            host.send("M84")
        if args.rig_command in ("jog", "home", "position"):
            report = host.send("M114").position_report()
            print(" ".join(f"{axis}:{value:.2f}" for axis, value in report.positions.items()) if report else "no position report")
    return 0


def _read_gcode(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="ascii")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: G-code must be ASCII text ({exc})") from None
    commands = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not protocol.clean_command(raw):
            continue
        try:
            commands.append(protocol.validate_command(raw))
        except ValueError as exc:
            raise ValueError(f"{path}:{number}: {exc}") from None
    return commands


def _stream(host: MarlinHost, commands: list[str]) -> int:
    from tqdm import tqdm

    started = time.monotonic()
    with tqdm(total=len(commands), unit="line", desc="streaming") as bar:
        host.stream(commands, on_sent=lambda _reply: bar.update(1))
    elapsed = time.monotonic() - started
    stats = host.stats
    print(
        f"sent {len(commands)} lines in {elapsed:.2f} s ({len(commands) / max(elapsed, 1e-9):.0f} lines/s); "
        f"resends {stats.writes - stats.lines_acknowledged} (requested {stats.resend_requests}), "
        f"timeouts {stats.timeouts}, keep-alives {stats.keepalives}"
    )
    return 0
