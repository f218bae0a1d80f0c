"""`bricksort <command>`: one entry point, a subcommand per job.

Each package contributes its subcommands through a `register(subparsers)` function in
its own `cli.py`. Registration must stay cheap: heavy imports (TensorFlow, OpenCV, the
TFLite interpreter) happen inside the command handlers, so `bricksort --help` is instant
and the Pi never needs TensorFlow.
"""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

from bricksort import demo_cli
from device import cli as device_cli
from firmware_bridge import cli as firmware_cli
from trainer import cli as trainer_cli

DESCRIPTION = """\
bricksort: an edge-device LEGO sorter.

  capture training data   bricksort capture --part 3001 --views 24 --rig rig.toml --camera picamera2
  retrain on a workstation bricksort audit DATA; bricksort train DATA; bricksort export RUN
  sort in real time        bricksort sort --bundle B --rig rig.toml --bins bins.toml --camera picamera2
  try it all, offline      bricksort demo

Run `bricksort <command> --help` for the options of each command.
"""


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every package's subcommands registered."""
    parser = argparse.ArgumentParser(
        prog="bricksort", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    subparsers = parser.add_subparsers(dest="command", metavar="<command>")
    subparsers.required = True
    for module in (demo_cli, device_cli, trainer_cli, firmware_cli):
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments and run the chosen command; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (ValueError, OSError) as exc:
        # Convention: errors about bad input subclass ValueError, errors about files, ports
        # and hardware subclass OSError; both carry a message meant for the user.
        print(f"bricksort {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
