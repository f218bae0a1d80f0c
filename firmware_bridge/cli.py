"""Subcommands contributed by `firmware_bridge`; handlers import their implementation lazily."""
from __future__ import annotations

import argparse
import math


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `virtual-marlin` and `rig` to the `bricksort` parser."""
    _register_virtual_marlin(subparsers)
    _register_rig(subparsers)


def _register_virtual_marlin(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "virtual-marlin",
        help="serve a virtual Marlin board on a pseudo-terminal (prints its path)",
        description="Emulate Marlin 2.1 on a RAMPS 1.4 behind a pty that any host opens like a real "
        "board, with optional fault injection. Runs until Ctrl-C.",
    )
    parser.add_argument("--time-scale", type=float, default=1.0, help="motion time multiplier (0 = instant; default 1)")
    parser.add_argument("--corrupt-to-host", type=float, default=0.0, metavar="FRACTION", help="bytes damaged firmware->host")
    parser.add_argument("--corrupt-to-firmware", type=float, default=0.0, metavar="FRACTION", help="bytes damaged host->firmware")
    parser.add_argument("--drop-to-host", type=float, default=0.0, metavar="FRACTION", help="bytes lost firmware->host")
    parser.add_argument("--drop-to-firmware", type=float, default=0.0, metavar="FRACTION", help="bytes lost host->firmware")
    parser.add_argument("--independent-faults", action="store_true",
                        help="let several faults hit one line (beyond what an XOR checksum can catch)")
    parser.add_argument("--reply-delay", type=float, default=0.0, metavar="SECONDS", help="delay before each reply line")
    parser.add_argument("--busy-interval", type=float, default=2.0, metavar="SECONDS",
                        help="keep-alive interval in simulated seconds (0 disables HOST_KEEPALIVE)")
    parser.add_argument("--plain-ok", action="store_true", help="disable ADVANCED_OK (bare `ok` replies)")
    parser.add_argument("--no-reset-on-open", action="store_true", help="do not reset when a host opens the port")
    parser.add_argument("--link", metavar="PATH", help="also create a symlink to the pty here (a stable name)")
    parser.add_argument("--seed", type=int, help="seed for reproducible faults")
    parser.set_defaults(func=_run_virtual_marlin)


def _register_rig(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "rig",
        help="talk to the rig's Marlin board: stream G-code, jog, home, steppers, position",
        description="Drive a Marlin board (real or virtual) over a serial port or pyserial URL.",
    )
    parser.add_argument("--port", help="serial device or pyserial URL (default: the rig file's)")
    parser.add_argument("--baud", type=int, help="baud rate (default: the rig file's, else 250000)")
    parser.add_argument("--rig", metavar="RIG.toml", help="rig file for port, baud and timeouts")
    actions = parser.add_subparsers(dest="rig_command", metavar="<action>")
    actions.required = True
    stream = actions.add_parser("stream", help="stream a G-code file with a progress bar and a summary")
    stream.add_argument("file", metavar="FILE.gcode")
    jog = actions.add_parser("jog", help="move one axis by a relative distance and wait for it")
    jog.add_argument("axis", choices=["X", "Y", "Z", "E"])
    jog.add_argument("distance", type=_jog_distance, help=f"units of that axis (degrees or mm), at most {MAX_JOG:g} either way")
    jog.add_argument("--feedrate", type=_feedrate, default=600.0, help="units per minute, above 0 (default 600)")
    home = actions.add_parser("home", help="home axes with G28 (default: all)")
    home.add_argument("axes", nargs="*", choices=["X", "Y", "Z"])
    actions.add_parser("enable", help="energise the steppers (M17)")
    actions.add_parser("disable", help="release the steppers (M84)")
    actions.add_parser("position", help="print the M114 position report")
    actions.add_parser("ports", help="list the serial ports on this machine")
    parser.set_defaults(func=_run_rig)


MAX_JOG = 10000.0  # units: 27 turns of the table or 10 m of a linear axis; more is a typo


def _finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def _jog_distance(text: str) -> float:
    value = _finite_float(text)
    if abs(value) > MAX_JOG:
        raise argparse.ArgumentTypeError(f"{text} is beyond any rig's travel (at most {MAX_JOG:g} either way)")
    return value


def _feedrate(text: str) -> float:
    value = _finite_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be above 0 units a minute, got {text}")
    return value


def _run_virtual_marlin(args: argparse.Namespace) -> int:
    from firmware_bridge.virtual_marlin.serve import serve_until_interrupted

    return serve_until_interrupted(args)


def _run_rig(args: argparse.Namespace) -> int:
    from firmware_bridge.rig_cli import run_rig_command

    return run_rig_command(args)
