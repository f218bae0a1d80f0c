"""Arguments of `bricksort synth`; cheap to import (the renderer loads only when the command runs)."""
from __future__ import annotations

import argparse

from device.sim.camera import RIG_FRAME_SIDE
from device.sim.parts import PART_IDS


def add_synth_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of `bricksort synth` and bind its handler."""
    parser.add_argument("out", help="captures root to write: OUT/<part>/<session>/<view>.jpg plus manifests")
    parser.add_argument("--parts", nargs="+", metavar="PART", help=f"part ids to render (default: every part the simulator knows: {' '.join(PART_IDS)})")
    parser.add_argument("--bricks-per-part", type=int, default=20, metavar="N", help="simulated bricks (sessions) per part")
    parser.add_argument("--views", type=int, default=8, metavar="V", help="views per brick, at turntable angles 360*v/V")
    parser.add_argument("--seed", type=int, default=0, help="random seed; the same seed renders the same dataset")
    parser.add_argument("--size", type=int, nargs=2, default=(RIG_FRAME_SIDE, RIG_FRAME_SIDE), metavar=("H", "W"),
                        help=f"frame size in pixels (default {RIG_FRAME_SIDE} {RIG_FRAME_SIDE}, the twin camera's)")
    parser.add_argument("--contact-sheet", metavar="PATH", help="also write a PNG/JPEG grid of view 0 of the first bricks of each part")
    parser.add_argument("--rig-look", action="store_true",
                        help="render every brick under the digital twin's own light and camera (one rig, locked exposure) "
                        "instead of a random look per brick")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from device.sim.synth import run_synth

    return run_synth(args)
