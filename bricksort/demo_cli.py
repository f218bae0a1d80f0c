"""The `bricksort demo` subcommand: the whole system, offline, on a simulated rig."""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from device.sim.parts import PART_IDS

DESCRIPTION = """\
Run the whole system offline, on a simulated rig, in a few minutes on a laptop CPU:

  1. render a synthetic dataset of LEGO parts on a turntable (captures layout, exact labels)
  2. audit it (unreadable files, duplicates, leak-free split)
  3. train a MobileNetV2 0.35 at 160x160 (ImageNet weights when Keras has them on disk,
     in $KERAS_HOME/models or ~/.keras/models; otherwise from scratch, and it says so)
  4. export the int8 TFLite bundle, checked on the test split with the device's classifier
  5. evaluate it on freshly rendered bricks (confusion matrix, misclassified page)
  6. start a virtual Marlin on a pseudo-terminal and sort fresh simulated bricks through
     the real sort loop, then check the journal against the simulated world brick by brick

Everything goes to a new time-stamped folder under --out. Nothing is downloaded.
"""


def run_demo_command(args: argparse.Namespace) -> int:
    """Handler of `bricksort demo`; exit 1 when a brick is unaccounted for or journal and world disagree."""
    # TensorFlow's C++ start-up chatter would bury the demo's own progress.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from bricksort.demo import DemoConfig, format_summary, run_demo

    config = DemoConfig(
        out=args.out,
        parts=tuple(args.parts),
        bricks_per_part=args.bricks_per_part,
        views=args.views,
        eval_bricks_per_part=args.eval_bricks_per_part,
        rig_look=not args.any_look,
        sort_bricks=args.sort_bricks,
        sort_views=args.sort_views,
        time_scale=args.time_scale,
        weights=args.weights,
        epochs=args.epochs,
        scratch_epochs=args.scratch_epochs,
        seed=args.seed,
        cache_dir=args.cache,
        progress=not args.quiet,
    )
    started = time.perf_counter()
    result = run_demo(config)
    print(format_summary(result, time.perf_counter() - started))
    return 1 if result.unaccounted or result.problems else 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `demo` to the `bricksort` parser."""
    parser = subparsers.add_parser(
        "demo",
        help="the whole system offline: render, audit, train, export, sort simulated bricks",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", type=Path, default=Path("demo-out"), help="parent folder of the run's folder (default demo-out)")
    parser.add_argument("--parts", nargs="+", default=list(PART_IDS), metavar="PART", help=f"parts to render and sort (default: all {len(PART_IDS)})")
    parser.add_argument("--bricks-per-part", type=int, default=80, help="simulated bricks per part to train on (default 80)")
    parser.add_argument("--views", type=int, default=3, help="turntable views per training brick (default 3)")
    parser.add_argument("--any-look", action="store_true",
                        help="render training bricks under random light and camera placements instead of the rig's own "
                        "(harder: a model for any rig; the sorting rig keeps its own look)")
    parser.add_argument("--eval-bricks-per-part", type=int, default=4, help="fresh bricks per part for the evaluation (default 4)")
    parser.add_argument("--sort-bricks", type=int, default=100, help="bricks the feeder drops on the table (default 100)")
    parser.add_argument("--sort-views", type=int, default=3, help="views per brick while sorting (default 3)")
    parser.add_argument("--time-scale", type=float, default=0.1, help="mechanical time factor: 1 real time, 0 instant (default 0.1)")
    parser.add_argument("--weights", choices=("auto", "imagenet", "none"), default="auto",
                        help="backbone weights: auto = ImageNet if on disk, else from scratch (default auto)")
    parser.add_argument("--epochs", type=int, default=80, help="most epochs for the head (early stopping on validation loss; default 80)")
    parser.add_argument("--scratch-epochs", type=int, default=6,
                        help="epochs of whole-network training when no ImageNet weights are found (default 6)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the rendered data, the split and the feeder (default 0)")
    parser.add_argument("--cache", type=Path, default=Path("~/.cache/bricksort"),
                        help="cache of bottleneck features and crop descriptors, reused by later runs (default ~/.cache/bricksort)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(func=run_demo_command)
