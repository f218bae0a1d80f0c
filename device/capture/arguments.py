"""Options of `bricksort capture`, kept free of heavy imports so registering the command stays cheap."""
from __future__ import annotations

import argparse
from pathlib import Path


def run_capture_command(args: argparse.Namespace) -> int:
    """Handler for `bricksort capture`: imports the capture machinery only when it runs."""
    from device.capture.command import capture_command

    return capture_command(args)


def add_capture_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `bricksort capture`; the handler is `run_capture_command`."""
    parser.add_argument("--part", required=True, help="part id, e.g. 3001 (letters, digits, . _ -)")
    parser.add_argument("--views", type=int, required=True, help="views per brick, evenly spaced over 360 degrees")
    parser.add_argument("--rig", required=True, type=Path, help="rig config TOML (serial port, axes)")
    parser.add_argument("--camera", required=True, help="camera spec: picamera2[:exposure=US,gain=G,...], opencv:N|FILE, folder:DIR")
    parser.add_argument("--bricks", type=int, default=1, help="bricks to capture, one session each (default 1)")
    parser.add_argument("--root", default="captures", help="captures root folder (default: captures)")
    parser.add_argument("--session", help="session name (default: the start time); NAME-bNN with several bricks")
    parser.add_argument("--resume", action="store_true", help="finish an interrupted --session, skipping views already saved")
    parser.add_argument("--manual", action="store_true", help="press Enter when a brick is placed instead of detecting it")
    parser.add_argument("--settle", type=float, default=0.3, help="seconds to wait after the table stops (default 0.3)")
    parser.set_defaults(func=run_capture_command)
