"""Subcommands contributed by `device`; handlers import their implementation lazily."""
from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add this package's subcommands to the `bricksort` parser."""
    _register_capture(subparsers)
    _register_classify(subparsers)
    _register_synth(subparsers)
    _register_sort(subparsers)


def _register_capture(subparsers: argparse._SubParsersAction) -> None:
    from device.capture.arguments import add_capture_arguments

    add_capture_arguments(
        subparsers.add_parser("capture", help="photograph bricks on the turntable into captures/ for training")
    )


def _register_classify(subparsers: argparse._SubParsersAction) -> None:
    from device.classifier.command import add_classify_arguments

    add_classify_arguments(subparsers.add_parser("classify", help="print the top-5 classes of photos with a model bundle"))


def _register_synth(subparsers: argparse._SubParsersAction) -> None:
    from device.sim.synth_arguments import add_synth_arguments

    add_synth_arguments(subparsers.add_parser("synth", help="render a simulated turntable dataset in the captures layout"))


def _register_sort(subparsers: argparse._SubParsersAction) -> None:
    from device.sort.arguments import add_journal_arguments, add_sort_arguments

    add_sort_arguments(subparsers.add_parser("sort", help="sort bricks in real time (or simulated with --simulate)"))
    add_journal_arguments(subparsers.add_parser("journal", help="summarise a sort journal: bins, rejects, bricks/min"))
