"""Subcommands contributed by `trainer`; handlers import their implementation lazily."""
from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add this package's subcommands to the `bricksort` parser."""
    _register_audit(subparsers)
    _register_training(subparsers)


def _register_audit(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "audit",
        help="check a dataset: unreadable files, duplicates, label conflicts, balance",
        description="Audit a captures root or a <class>/*.jpg folder: unreadable and odd files, class balance, brick "
        "boxes, the colours each part was captured in, exact and near-duplicates, split leakage. Writes report.md "
        "with PNG plots and a JSON summary; exits 1 when an image is filed under two labels.",
    )
    parser.add_argument("data", help="dataset folder")
    parser.add_argument("--out", help="report folder (default runs/audit-<data folder name>)")
    parser.add_argument("--json", help="JSON summary path (default <out>/audit.json)")
    parser.add_argument("--cache", help="crop descriptor cache (default ~/.cache/bricksort/crops)")
    parser.add_argument("--no-cache", action="store_true", help="compute every crop afresh, store nothing")
    parser.add_argument("--tiny", dest="tiny_side", type=int, default=64, help="flag images whose shorter side is below this (px)")
    parser.add_argument("--workers", type=int, default=None, help="threads (default: one per core)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=_audit)


def _audit(args: argparse.Namespace) -> int:
    from trainer.data.audit_command import audit_command

    return audit_command(args)


def _register_training(subparsers: argparse._SubParsersAction) -> None:
    """`train`, `export` and `evaluate`; see docs/training.md."""
    train = subparsers.add_parser(
        "train",
        help="transfer-learn a MobileNet classifier on a dataset (or --resume a run)",
        description="Phase 1 trains a softmax head on cached backbone features; phase 2 then fine-tunes the "
        "backbone's top layers (its last blocks) for --fine-tune epochs (default 8; 0: head only). Writes runs/<name>/ "
        "(config, split, labels, best checkpoint, history, curves.png, tensorboard/).",
        epilog="The defaults are the most accurate recipe measured on turntable-10 (docs/training.md): with 150 "
        "rendered bricks of each of its parts beside the photos, train + export took 3.1-3.6 min cold (rendering "
        "included) and 1.4-2.0 min warm on 2 CPU cores; --synth-bricks 0 (photos only; measured with phase 2 over the top "
        "two thirds, as before 2026-12-07) 2 min and 1.2 min, but it read "
        "bricks in poses its photos lacked as look-alike parts (int8 93.4-99.8% over eight splits of 2026-11-30, mean 97.0%, "
        "against 96.1-100%, mean 98.9%). --fine-tune 0 trains the head alone, faster still, but its int8 model "
        "lost over 1 point on 4 of 10 splits there, which export refuses. Phase 2 uses every local GPU; to train "
        "on several machines, start the same command on each with its own TF_CONFIG (docs/training.md, \"Several "
        "GPUs, several machines\").",
    )
    train.add_argument("data", nargs="?", help="dataset folder (captures root or <class>/*.jpg); not with --resume")
    train.add_argument("--extra-train", action="append", metavar="DIR", type=Path,
                       help="more images for the training side only, in DATA's layouts and among its classes, e.g. "
                       "`bricksort synth` renders of parts or colours DATA lacks; never validated or tested on, so "
                       "the scores stay DATA's own. Repeat for several folders; a copy of a held-out image is refused")
    train.add_argument("--synth-bricks", type=int, metavar="N",
                       help="rendered bricks a part added to the training side, for the data's parts the simulator "
                       "knows (`bricksort synth --help` lists them; other parts get none), each in --synth-views views at the photos' size: "
                       "poses and colours the captures lack (default 150; 0: photos only). Rendered once, then cached")
    train.add_argument("--synth-views", type=int, metavar="V", help="turntable views of each rendered brick (default 3)")
    train.add_argument("--name", help="run name (default: data folder name + time)")
    train.add_argument("--runs", default="runs", help="folder holding runs (default runs)")
    train.add_argument("--resume", metavar="RUN", help="continue the run in folder RUN from its best checkpoint")
    train.add_argument("--backbone", choices=("mobilenet_v2", "mobilenet", "mobilenet_v3_small", "mobilenet_v3_large"))
    train.add_argument("--alpha", type=float, help="backbone width (default 0.35)")
    train.add_argument("--input-size", dest="input_hw", type=int, nargs=2, metavar=("HEIGHT", "WIDTH"), help="default 160 160")
    train.add_argument("--weights", help="imagenet (default), none, or a backbone weights file")
    train.add_argument("--epochs", type=int, help="phase-1 epochs (default 40)")
    train.add_argument("--fine-tune", type=int, dest="fine_tune_epochs", help="phase-2 epochs (default 8; 0: train the head only)")
    train.add_argument("--fine-tune-layers", type=int,
                       help="backbone layers, from the top, that phase 2 trains (default: a fifth of them, 30 of "
                       "MobileNetV2's 155: blocks 14-16 and Conv_1; more than the backbone has = all of it, as training from scratch with "
                       "--weights none needs)")
    train.add_argument("--fine-tune-learning-rate", type=float, help="phase-2 learning rate (default 2e-4)")
    train.add_argument("--fine-tune-schedule", choices=("constant", "cosine"),
                       help="phase-2 learning rate per epoch: cosine (default), falling from --fine-tune-learning-rate "
                       "towards 0 over the --fine-tune epochs, or constant")
    train.add_argument("--fine-tune-input", choices=("cached", "images"),
                       help="what phase 2 trains on: cached (default) computes the frozen layers' output once per "
                       "image and --augment-copies augmented versions, then trains on those (several times faster on "
                       "a CPU); images decodes, crops and augments every image afresh every epoch")
    train.add_argument("--augment-copies", type=int,
                       help="with --fine-tune-input cached: augmented versions kept per training image (default 2)")
    train.add_argument("--fine-tune-average", action=argparse.BooleanOptionalAction, default=None,
                       help="after phase 2, average the weights of its last half of epochs and keep the average "
                       "when it validates better than the best epoch (default on; not with --weights none)")
    train.add_argument("--int8-aware", action=argparse.BooleanOptionalAction, default=None,
                       help="with --fine-tune-input cached: also train on the frozen layers' output as the int8 "
                       "model computes it, so the int8 bundle reads what the float one does (default on)")
    train.add_argument("--augment-strength", type=float,
                       help="scales phase 2's rotation, light, zoom and shift ranges, 0..1 (default 0.05: turntable photos "
                       "already show every rotation; 1 is the full range, for fewer views a part)")
    train.add_argument("--batch-size", type=int)
    train.add_argument("--learning-rate", type=float)
    train.add_argument("--allow-flip", action="store_true", default=None, help="horizontal flips (not for mirror-twin parts)")
    train.add_argument("--colour-augment", action="store_true", default=None,
                       help="phase 2 also shifts hue and saturation and turns some images grey, for parts the "
                       "sorter will see in colours the data lacks (classes are shapes, not colours)")
    train.add_argument("--seed", type=int)
    train.add_argument("--split-from", type=Path, metavar="RUN_OR_SPLIT",
                       help="use the split saved by another run (its folder or its split.json) instead of making one: "
                       "runs then compare on the same test images (a seed's split moves when the duplicate search "
                       "or the brick finder changes)")
    train.add_argument("--cache-dir", help="bottleneck cache (default ~/.cache/bricksort/bottlenecks)")
    train.set_defaults(func=_train)

    export = subparsers.add_parser(
        "export",
        help="write a model bundle (float32 + int8 TFLite) from a training run",
        description="Converts the run's best checkpoint, evaluates float32 and int8 on the run's test split "
        "with the device classifier, calibrates the reject threshold on the validation split.",
    )
    export.add_argument("run", help="training run folder")
    export.add_argument("--out", help="bundle folder (default <run>/bundle)")
    export.add_argument("--force", action="store_true", help="write the int8 bundle even if it loses > 1 point")
    export.add_argument("--device-model", choices=("int8", "float32"), default="int8",
                        help="the model the device runs by default (default int8). float32 ships a model whose int8 "
                        "conversion lost too much: both files are in the bundle either way, and the reject "
                        "threshold is calibrated on the one chosen")
    export.add_argument("--views", type=int, default=3,
                        help="views per brick the sorter will fuse (its --views): the reject threshold is calibrated "
                        "on that many fused views of one validation brick where the data has sessions (default 3)")
    export.set_defaults(func=_export)

    evaluate = subparsers.add_parser(
        "evaluate",
        help="accuracy, confusion matrix and mistakes of a bundle on a labelled folder",
        description="Runs every image of DATA (<class>/*.jpg or a captures root) through the device's crop and "
        "classifier; prints accuracy and latency, writes report.json, confusion_matrix.png, misclassified.html.",
    )
    evaluate.add_argument("bundle", help="model bundle folder")
    evaluate.add_argument("data", help="labelled image folder")
    evaluate.add_argument("--json", help="also write the JSON report here")
    evaluate.add_argument("--out", help="report folder (default runs/eval-<bundle>-<data>)")
    evaluate.add_argument("--quantization", choices=("int8", "float32"), help="model of the bundle to run (default its own)")
    evaluate.set_defaults(func=_evaluate)


def _train(args: argparse.Namespace) -> int:
    from trainer.train.cli_options import train_command

    return train_command(args)


def _export(args: argparse.Namespace) -> int:
    from trainer.export import export_bundle
    from trainer.export.export import ExportConfig

    export = ExportConfig(views=args.views, device_model=args.device_model)
    bundle = export_bundle(Path(args.run), Path(args.out or Path(args.run) / "bundle"), force=args.force, export=export)
    print(f"bundle written to {bundle.path}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from trainer.evaluate import evaluate_bundle

    out = Path(args.out or f"runs/eval-{Path(args.bundle).name}-{Path(args.data).name}")
    # Checked before the evaluation, which can take minutes, rather than after it.
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file: give a folder for the report")
    if args.json and Path(args.json).is_dir():
        raise ValueError(f"--json {args.json} is a folder: give a file name, e.g. {Path(args.json) / 'eval.json'}")
    report = evaluate_bundle(args.bundle, args.data, out, quantization=args.quantization)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        report.save_json(Path(args.json))
    print(f"accuracy {100 * report.accuracy:.2f}% on {report.images} images ({len(report.skipped)} unreadable skipped)")
    print(f"top-k {report.top_k}; latency per image: preprocess {report.latency_ms['preprocess']['mean']:.1f} ms, "
          f"inference {report.latency_ms['inference']['mean']:.1f} ms")
    if report.colour_check:
        c = report.colour_check
        print(f"the sorter's colour check would reject {c['wrong_rejected']} of the {c['wrong']} wrong answers and "
              f"{c['right_rejected']} of the {c['right']} right ones (a part never photographed in the brick's colour)")
    print(f"report: {out}")
    return 0
