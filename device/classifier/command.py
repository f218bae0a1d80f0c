"""`bricksort classify BUNDLE IMAGE...`: top-k per image with its time, like label_image."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from device.vision.box import Box


def add_classify_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of the classify command; the handler is `run_classify`."""
    parser.add_argument("bundle", type=Path, help="model bundle folder (model.tflite, labels.json, metadata.json)")
    parser.add_argument("images", type=Path, nargs="+", metavar="IMAGE", help="photos to classify")
    parser.add_argument("--top-k", type=int, default=5, help="classes to print per image (default 5)")
    parser.add_argument("--threads", type=int, default=None, help="interpreter threads (default: its own choice)")
    parser.add_argument("--quantization", default=None, help="which model of the bundle to run (default: its own)")
    parser.set_defaults(func=run_classify)


def read_rgb(path: Path) -> np.ndarray:
    """Decode an image file to uint8 RGB; OSError naming the file when it cannot."""
    import cv2

    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise OSError(f"cannot read {path}: {exc.strerror or exc}") from exc
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if bgr is None:
        raise OSError(f"cannot decode {path}: not an image or corrupt")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def colour_line(frame: np.ndarray, box: Box | None, part: str, part_colours: dict[str, dict[str, int]]) -> str:
    """The colour name of the brick in `box` and what the sorter's colour check would make of
    `part` in it (after the timed classification: the sorter names colours on its own views too)."""
    from device.vision.colour import brick_colour_name, unseen_colour

    if box is None:
        return "  colour: no brick found, not checked"
    colour = brick_colour_name(frame, box)
    if unseen_colour(part_colours, part, [colour]):
        return f"  colour: {colour}; no training photo shows {part} in it: the sorter would reject this brick"
    return f"  colour: {colour}"


def run_classify(args: argparse.Namespace) -> int:
    """Classify every image; an unreadable one is reported and skipped. Exit 1 if any failed."""
    from device.classifier.bundle import preprocessing_warning
    from device.classifier.classifier import Classifier, top_categories
    from device.vision.preprocess import find_and_crop

    if args.top_k < 1:
        raise ValueError(f"--top-k must be >= 1, got {args.top_k}")
    start = time.perf_counter()
    classifier = Classifier(args.bundle, num_threads=args.threads, quantization=args.quantization)
    print(
        f"loaded {args.bundle} ({len(classifier.labels)} classes, input {classifier.input_hw[0]}x"
        f"{classifier.input_hw[1]}) with {classifier.backend} in {(time.perf_counter() - start) * 1e3:.1f} ms"
    )
    start = time.perf_counter()
    classifier.warm_up()
    # Once per process, so that each image's time below is what every further image costs.
    print(f"warmed up in {(time.perf_counter() - start) * 1e3:.1f} ms (OpenCV's colour tables, the first invoke())")
    warning = preprocessing_warning(classifier.bundle.metadata)
    if warning:
        print(warning, file=sys.stderr)
    failed = 0
    for path in args.images:
        try:
            frame = read_rgb(path)
        except OSError as exc:
            print(f"{path}: error: {exc}", file=sys.stderr)
            failed += 1
            continue
        start = time.perf_counter()
        # classify()'s crop, with the box kept for the colour line (a photo with no box is searched once)
        box, crop = find_and_crop(frame, classifier.input_hw, classifier.bundle.metadata.crop_margin)
        categories = top_categories(classifier.probabilities([crop])[0], classifier.labels, args.top_k)
        elapsed_ms = (time.perf_counter() - start) * 1e3
        print(f"{path}: {elapsed_ms:.2f} ms")
        for category in categories:
            print(f"  {category.score:.4f}  {category.label}")
        if classifier.bundle.metadata.part_colours:
            print(colour_line(frame, box, categories[0].label, classifier.bundle.metadata.part_colours))
    if failed:
        print(f"{failed} of {len(args.images)} images could not be read", file=sys.stderr)
    return 1 if failed else 0
