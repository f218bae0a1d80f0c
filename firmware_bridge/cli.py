"""Subcommands contributed by `firmware_bridge`; handlers import their implementation lazily."""
from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add this package's subcommands to the `bricksort` parser."""
