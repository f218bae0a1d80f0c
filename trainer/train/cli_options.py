"""`bricksort train` arguments -> TrainConfig -> run_training."""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from trainer.train.config import TrainConfig

# TrainConfig fields the options set (each option's argparse destination is its field), left
# unset (None) unless given.
_FIELDS = (
    "backbone", "alpha", "input_hw", "weights", "epochs", "fine_tune_epochs", "fine_tune_layers",
    "fine_tune_learning_rate", "fine_tune_schedule", "fine_tune_input", "augment_copies", "int8_aware",
    "fine_tune_average", "augment_strength", "batch_size", "learning_rate", "allow_flip", "colour_augment",
    "seed", "cache_dir", "extra_train", "synth_bricks", "synth_views", "split_from",
)


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """A new run's config, or with --resume the saved one with the given options applied."""
    given = {field: getattr(args, field) for field in _FIELDS if getattr(args, field) is not None}
    if args.resume:
        if args.data:
            raise ValueError("give either DATA or --resume RUN, not both (a resumed run keeps its data and split)")
        if args.extra_train or args.synth_bricks is not None or args.synth_views is not None:
            raise ValueError("--extra-train and --synth-* are for a new run: a resumed run keeps the training images it started with")
        if args.split_from:
            raise ValueError("--split-from is for a new run: a resumed run keeps its own split")
        return TrainConfig.load(Path(args.resume), resume=True, **given)
    if not args.data:
        raise ValueError("train needs a DATA folder (or --resume RUN)")
    if args.name is not None and (not args.name or args.name in (".", "..") or any(ch in args.name for ch in "/\\")):
        raise ValueError(f"--name {args.name!r} must be a plain folder name (no path separators): the run goes under --runs")
    name = args.name or f"{Path(args.data).resolve().name}-{time.strftime('%Y%m%d-%H%M%S')}"
    return TrainConfig(data_root=Path(args.data), run_dir=Path(args.runs) / name, **given)


def train_command(args: argparse.Namespace) -> int:
    """Handler of `bricksort train`."""
    from trainer.train.run import run_training
    from trainer.train.checkpoint import RunState

    config = config_from_args(args)
    run_dir = run_training(config)
    state = RunState.load(run_dir)
    # A worker other than the chief wrote its own copy; the chief's folder is the run to export.
    print(
        f"run {run_dir}: best val loss {state.best_val_loss:.4f}, val accuracy {100 * state.best_val_accuracy:.2f}% "
        f"({state.best_phase} epoch {state.best_epoch + 1}); next: bricksort export {config.run_dir}"
    )
    return 0
