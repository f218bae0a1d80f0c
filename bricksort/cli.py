"""`bricksort <command>`: one entry point, a subcommand per job.

Each package contributes its subcommands through a `register(subparsers)` function in
its own `cli.py`. Registration must stay cheap: heavy imports (TensorFlow, OpenCV, the
TFLite interpreter) happen inside the command handlers, so `bricksort --help` is instant
and the Pi never needs TensorFlow.
"""
from __future__ import annotations

import argparse
import errno
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
    parser.set_defaults(command_parsers=subparsers.choices)
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
        message = _user_message(exc)
        if isinstance(exc, ValueError):
            message = _with_option_named(message, args.command_parsers[args.command])
        print(f"bricksort {args.command}: error: {message}", file=sys.stderr)
        return 2


# What a user should check when the system's own wording ("[Errno 20] Not a directory: ...") is all there is.
_OS_HINTS = {
    errno.ENOTDIR: "a part of that path is a file, not a folder",
    errno.EEXIST: "something is already there; choose another path",
    errno.EISDIR: "that is a folder; a file was expected",
    errno.EACCES: "no permission",
    errno.ENOSPC: "the disk is full",
}


def _user_message(exc: Exception) -> str:
    """The exception's message, with a system error's code turned into words and the path shown."""
    if isinstance(exc, OSError) and exc.errno in _OS_HINTS and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror.lower()} ({_OS_HINTS[exc.errno]})"
    return str(exc)


def _with_option_named(message: str, command: argparse.ArgumentParser) -> str:
    """A config check's message ("keep_below must be in [0, 1], ...") led by the option the user
    typed (--keep-below): an option's argparse destination is the config field it sets."""
    field, _, rest = message.partition(" ")
    if not rest.startswith("must "):
        return message
    for action in command._actions:  # argparse lists its actions nowhere public
        if action.dest == field and action.option_strings:
            return f"{action.option_strings[0]} ({message})"
    return message


if __name__ == "__main__":
    sys.exit(main())
