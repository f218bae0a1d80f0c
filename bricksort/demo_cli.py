"""The `bricksort demo` subcommand: the whole system, offline, on a simulated rig."""
from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `demo` to the `bricksort` parser."""
