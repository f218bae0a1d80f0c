"""Options of `bricksort sort` and `bricksort journal`, free of heavy imports so registration stays instant."""
from __future__ import annotations

import argparse
from pathlib import Path


def run_sort_command(args: argparse.Namespace) -> int:
    """Handler for `bricksort sort`: imports the loop, OpenCV and the interpreter only when it runs."""
    from device.sort.command import sort_command

    return sort_command(args)


def run_journal_command(args: argparse.Namespace) -> int:
    """Handler for `bricksort journal`."""
    from device.sort.journal import format_summary, summarise

    print(format_summary(summarise(args.journal), args.journal))
    return 0


def add_sort_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `bricksort sort`; the handler is `run_sort_command`."""
    parser.add_argument("--bundle", required=True, type=Path, help="model bundle folder (from `bricksort export`)")
    parser.add_argument("--rig", required=True, type=Path, help="rig config TOML (serial port, axes, chute bins)")
    parser.add_argument("--bins", required=True, type=Path, help="bins TOML: parts to chute positions, one reject bin")
    parser.add_argument("--camera", help="camera spec: picamera2[:...], opencv:N|FILE, or sim (with --simulate)")
    parser.add_argument("--views", type=int, default=3, help="views per brick, the table turning 360/N between them (default 3)")
    parser.add_argument("--no-second-look", action="store_true",
                        help="reject an unsure brick at once instead of taking --views more views half-way between the first ones")
    parser.add_argument("--no-colour-check", action="store_true",
                        help="sort a brick even when no training photo showed its part in its colour family (by default "
                        "such a brick is rejected, the model never having learnt that part in that colour, unless the part "
                        "was photographed in most colour families; docs/sorting.md)")
    parser.add_argument("--journal", type=Path, default=Path("sort-journal.sqlite"), help="SQLite journal (default sort-journal.sqlite)")
    parser.add_argument("--max-bricks", type=int, help="stop after this many bricks")
    parser.add_argument("--idle-timeout", dest="idle_timeout_s", type=float, help="stop when no brick arrives for this many seconds")
    parser.add_argument("--review-dir", type=Path, help="where views of unsure bricks are saved (default: JOURNAL.review/)")
    parser.add_argument("--keep-below", type=float, default=0.9, help="also save views of sorted bricks below this confidence (default 0.9)")
    parser.add_argument("--threads", type=int, help="interpreter threads (default: its own choice)")
    sim = parser.add_argument_group("simulation (the digital twin: virtual Marlin on a pty, rendered bricks, a feeder)")
    sim.add_argument("--simulate", action="store_true", help="sort simulated bricks; the rig file's port is replaced by the twin's pty")
    sim.add_argument("--time-scale", type=float, default=1.0, help="mechanical time factor: 1 real time, 0 instant (default 1)")
    sim.add_argument("--sim-bricks", type=int, help="bricks the feeder has (default: endless)")
    sim.add_argument("--sim-parts", nargs="+", help="parts the feeder draws from (default: the bundle's labels)")
    sim.add_argument("--sim-seed", type=int, default=0, help="feeder seed: the same seed feeds the same bricks (default 0)")
    sim.add_argument("--sim-feed-delay", type=float, default=0.5, help="simulated seconds before the next brick lands (default 0.5)")
    sim.add_argument("--sim-log", type=Path, help="world log of fed bricks and bin contents (default: JOURNAL.world.jsonl)")
    sim.add_argument("--sim-corrupt", type=float, default=0.0, help="fraction of serial bytes corrupted each way (default 0)")
    sim.add_argument("--sim-jam", type=float, default=0.0, help="chance that a push leaves the brick on the table (default 0)")
    parser.set_defaults(func=run_sort_command)


def add_journal_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `bricksort journal`; the handler is `run_journal_command`."""
    parser.add_argument("journal", type=Path, help="journal database written by `bricksort sort`")
    parser.set_defaults(func=run_journal_command)
