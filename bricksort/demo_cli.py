"""The `bricksort demo` subcommand: the whole system, offline, on a simulated rig."""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from bricksort.demo import WEIGHTS_CHOICES, DemoConfig
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

Everything goes to a new time-stamped folder under --out. Nothing is downloaded, unless
you ask for ImageNet weights that are not on disk (--weights imagenet: ~2 MB, once).
"""


def run_demo_command(args: argparse.Namespace) -> int:
    """Handler of `bricksort demo`; exit 1 when a brick is unaccounted for or journal and world disagree."""
    # TensorFlow's C++ start-up chatter would bury the demo's own progress.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from bricksort.demo import format_summary, run_demo

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
        fine_tune_epochs=args.fine_tune,
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
    # The defaults are DemoConfig's own, so the help and the API cannot drift apart.
    d = DemoConfig()
    parser.add_argument("--out", type=Path, default=d.out, help=f"parent folder of the run's folder (default {d.out})")
    parser.add_argument("--parts", nargs="+", default=list(d.parts), metavar="PART", help=f"parts to render and sort (default: all {len(PART_IDS)})")
    parser.add_argument("--bricks-per-part", type=int, default=d.bricks_per_part, help=f"simulated bricks per part to train on (default {d.bricks_per_part})")
    parser.add_argument("--views", type=int, default=d.views, help=f"turntable views per training brick (default {d.views})")
    parser.add_argument("--any-look", action="store_true",
                        help="render training bricks under random light and camera placements instead of the rig's own "
                        "(harder: a model for any rig; the sorting rig keeps its own look)")
    parser.add_argument("--eval-bricks-per-part", type=int, default=d.eval_bricks_per_part,
                        help=f"fresh bricks per part for the evaluation (default {d.eval_bricks_per_part})")
    parser.add_argument("--sort-bricks", type=int, default=d.sort_bricks, help=f"bricks the feeder drops on the table (default {d.sort_bricks})")
    parser.add_argument("--sort-views", type=int, default=d.sort_views, help=f"views per brick while sorting (default {d.sort_views})")
    parser.add_argument("--time-scale", type=float, default=d.time_scale,
                        help=f"mechanical time factor: 1 real time, 0 instant (default {d.time_scale:g})")
    parser.add_argument("--weights", choices=WEIGHTS_CHOICES, default=d.weights,
                        help="backbone weights: auto = ImageNet if on disk, else from scratch; imagenet = ImageNet, "
                        f"downloaded once (~2 MB) if not on disk; none = from scratch (default {d.weights})")
    parser.add_argument("--epochs", type=int, default=d.epochs,
                        help=f"most epochs for the head (early stopping on validation loss; default {d.epochs})")
    parser.add_argument("--fine-tune", type=int, default=d.fine_tune_epochs, metavar="EPOCHS",
                        help="with ImageNet weights: epochs of fine-tuning the backbone's top layers after the head "
                        f"(default {d.fine_tune_epochs}), on cached outputs of the frozen layers: ~10 s an epoch "
                        "for 8,700 training images on 2 cores after ~1 min of caching; with --bricks-per-part 300 "
                        "--any-look, 3 epochs sorted 299 of 300 fresh bricks right, none wrong (see docs/sorting.md)")
    parser.add_argument("--scratch-epochs", type=int, default=d.scratch_epochs,
                        help=f"epochs of whole-network training when no ImageNet weights are found (default {d.scratch_epochs})")
    parser.add_argument("--seed", type=int, default=d.seed, help=f"seed of the rendered data, the split and the feeder (default {d.seed})")
    parser.add_argument("--cache", type=Path, default=d.cache_dir,
                        help=f"cache of bottleneck features and crop descriptors, reused by later runs (default {d.cache_dir})")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(func=run_demo_command)
