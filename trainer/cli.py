"""Subcommands contributed by `trainer`; handlers import their implementation lazily."""
from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add this package's subcommands to the `bricksort` parser."""
    _register_audit(subparsers)


def _register_audit(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "audit",
        help="check a dataset: unreadable files, duplicates, label conflicts, balance",
        description="Audit a captures root or a <class>/*.jpg folder. Writes report.md with PNG plots and a "
        "JSON summary; exits 1 when an image is filed under two labels.",
    )
    parser.add_argument("data", help="dataset folder")
    parser.add_argument("--out", help="report folder (default runs/audit-<data folder name>)")
    parser.add_argument("--json", help="JSON summary path (default <out>/audit.json)")
    parser.add_argument("--cache", help="crop descriptor cache (default ~/.cache/bricksort/crops)")
    parser.add_argument("--no-cache", action="store_true", help="compute every crop afresh, store nothing")
    parser.add_argument("--tiny", type=int, default=64, help="flag images whose shorter side is below this (px)")
    parser.add_argument("--workers", type=int, default=None, help="threads (default: one per core)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=_audit)


def _audit(args: argparse.Namespace) -> int:
    from trainer.data.audit_command import audit_command

    return audit_command(args)
