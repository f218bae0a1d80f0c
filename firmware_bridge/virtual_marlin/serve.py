"""`bricksort virtual-marlin`: serve a virtual board until interrupted."""
from __future__ import annotations

import argparse
import threading

from firmware_bridge.virtual_marlin.faults import FaultConfig
from firmware_bridge.virtual_marlin.firmware import FirmwareSettings
from firmware_bridge.virtual_marlin.pty_server import VirtualMarlin


def virtual_marlin_from_args(args: argparse.Namespace) -> VirtualMarlin:
    """Build (not start) a VirtualMarlin from the command-line options; ValueError on bad values."""
    if args.time_scale < 0:
        raise ValueError(f"--time-scale must be >= 0, got {args.time_scale}")
    if args.busy_interval < 0:
        raise ValueError(f"--busy-interval must be >= 0, got {args.busy_interval}")
    faults = FaultConfig(
        corrupt_to_host=args.corrupt_to_host,
        corrupt_to_firmware=args.corrupt_to_firmware,
        drop_to_host=args.drop_to_host,
        drop_to_firmware=args.drop_to_firmware,
        reply_delay_s=args.reply_delay,
        one_fault_per_line=not args.independent_faults,
        seed=args.seed,
    )
    settings = FirmwareSettings(advanced_ok=not args.plain_ok, busy_interval_s=args.busy_interval or None)
    return VirtualMarlin(
        time_scale=args.time_scale,
        faults=faults,
        settings=settings,
        reset_on_open=not args.no_reset_on_open,
        link_path=args.link,
    )


def serve_until_interrupted(args: argparse.Namespace) -> int:
    """Start the board, print its port path, and block until Ctrl-C."""
    board = virtual_marlin_from_args(args)
    path = board.start()
    try:
        print(path, flush=True)
        threading.Event().wait()
    finally:
        board.stop()
    return 0
