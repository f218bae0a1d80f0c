"""Per-frame time of the classify pipeline, split into detect, crop+resize, invoke() and
post-processing, for a MobileNetV2 alpha 0.35 at 160x160 int8 bundle; plus the peak RSS of
the classify process.

    python benchmarks/bench_classify_pipeline.py [--frames 200] [--threads 2] [--views 3]

Two pipelines, each in its own process, both as the device runs them (`model_input`: the
still-photo finder fits the background from the frame's border, then the crop):
- sorter: what `bricksort sort` runs for a brick: its views (`--views`, default 3) each through
  `model_input`, then one classifier call on their crops (one batch when the model allows), on
  rendered rig frames (600x600 JPEGs by default, as the digital twin's camera gives them, 13
  parts in LEGO colours), as no real photos of the rig exist here. It also times what the sorter runs on every frame while
  it waits for a brick (`BackgroundDetector`, the empty table learned first); that frame is
  not classified, so it is reported beside the pipeline, not in it.
- photos: `bricksort classify` on the real turntable-10 photos from ../shared when present,
  generated ones otherwise.

The bundle is built here with TensorFlow (ImageNet backbone from $KERAS_HOME when it is
there, random weights otherwise: timing does not depend on them). The classify part then
runs in a subprocess that never imports TensorFlow, as on the Pi, so its ru_maxrss is the
device's footprint.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

import numpy as np

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
INPUT_HW = (160, 160)
CLASSES = 10
# Raspberry Pi estimate: published MobileNetV2 figures scaled by multiply-adds. Taken with the
# search tool from public pages, not measured here; pass your own with --pi4-ms / --pi5-ms.
# - Pi 4: MobileNetV2 1.0 at 224, quantised TFLite classification, 45.5 FPS = 22 ms per frame
#   on a Pi 4 overclocked to 1950 MHz, 64-bit OS (Qengineering,
#   TensorFlow_Lite_Classification_RPi_64-bits README); a stock 1.5 GHz Pi 4 is slower.
# - Pi 5: the Pi 4 figure x 23.5 / 112.6, Alasdair Allan's TensorFlow Lite MobileNet v2 times
#   on a Pi 5 and a Pi 4 (aallan/benchmarking-ml-on-the-edge README; an SSD model at 300x300,
#   used here only for the ratio between the boards).
# - Multiply-adds: 300 M for MobileNetV2 1.0/224, 30 M for 0.35/160 (the MACs table of the
#   MobileNetV2 checkpoints, tensorflow/models slim README and keras-applications docstring).
#   Small models run below a CPU's best efficiency, so the scaled invoke() is a low estimate.
REFERENCE_MS = {"pi4": 22.0, "pi5": 22.0 * 23.5 / 112.6}
MAC_RATIO = 30.0 / 300.0


def build_bundle(folder: Path) -> Path:
    """MobileNetV2 0.35 @160 int8 bundle (uint8 RGB in, rescaling inside) written with write_bundle."""
    keras_home = SHARED / "keras-home"
    if keras_home.is_dir():
        os.environ.setdefault("KERAS_HOME", str(keras_home))
    import keras
    import tensorflow as tf

    from device.classifier.bundle import BundleMetadata, write_bundle
    from device.vision.crop import DEFAULT_MARGIN, PREPROCESSING_VERSION

    weights = "imagenet" if (keras_home / "models").is_dir() else None
    inputs = keras.Input((*INPUT_HW, 3))
    x = keras.layers.Rescaling(1 / 127.5, offset=-1)(inputs)
    backbone = keras.applications.MobileNetV2(
        input_shape=(*INPUT_HW, 3), alpha=0.35, include_top=False, weights=weights, pooling="avg"
    )
    outputs = keras.layers.Dense(CLASSES, activation="softmax")(backbone(x))
    model = keras.Model(inputs, outputs)
    rng = np.random.default_rng(0)

    def representative():
        for _ in range(32):
            yield [rng.integers(0, 256, (1, *INPUT_HW, 3)).astype(np.float32)]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.uint8
    converter.inference_output_type = tf.uint8
    metadata = BundleMetadata(
        input_height=INPUT_HW[0],
        input_width=INPUT_HW[1],
        backbone="mobilenet_v2",
        alpha=0.35,
        quantization="int8",
        reject_threshold=0.5,
        crop_margin=DEFAULT_MARGIN,
        preprocessing_version=PREPROCESSING_VERSION,
        models={"int8": "model.tflite"},
        metrics={"weights": weights or "random"},
    )
    write_bundle(folder, {"model.tflite": converter.convert()}, [f"part{i}" for i in range(CLASSES)], metadata)
    return folder


def photo_paths(count: int) -> list[Path]:
    """Every 7th real turntable photo, up to `count` (none when ../shared is absent)."""
    return sorted((SHARED / "datasets" / "turntable-10").glob("*/*.jpg"))[::7][:count]


def write_rig_frames(folder: Path, count: int, side: int, empty: int = 5) -> Path:
    """Render `empty` frames of the empty table and `count` with a brick on it, as the twin's
    camera sees them (its fixed look), `side` pixels square, to JPEG files in `folder`."""
    import cv2

    from device.sim.look import Look
    from device.sim.parts import PART_IDS
    from device.sim.renderer import Renderer
    from device.sim.scene import random_brick

    folder.mkdir(parents=True)
    renderer, look, rng = Renderer((side, side)), Look(), np.random.default_rng(0)
    for i in range(empty):
        cv2.imwrite(str(folder / f"empty-{i:02d}.jpg"), cv2.cvtColor(renderer.render(None, 0.0, rng, look=look), cv2.COLOR_RGB2BGR))
    for i in range(count):
        brick = random_brick(PART_IDS[i % len(PART_IDS)], rng)
        image = renderer.render(brick, float(rng.uniform(0, 360)), rng, look=look)
        cv2.imwrite(str(folder / f"brick-{i:04d}.jpg"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    return folder


def iter_photos(count: int) -> Iterator[np.ndarray]:
    """Real turntable photos (RGB) when ../shared is here, else generated table+brick frames;
    one at a time, as a camera delivers them, so the peak RSS is not a pile of decoded frames."""
    from device.classifier.command import read_rgb

    paths = photo_paths(count)
    for path in paths:
        yield read_rgb(path)
    if paths:
        return
    rng = np.random.default_rng(0)
    for _ in range(count):
        frame = np.clip(rng.normal((205, 160, 200), 4, (300, 300, 3)), 0, 255).astype(np.uint8)
        x, y = rng.integers(40, 180, 2)
        frame[y : y + 70, x : x + 50] = rng.integers(0, 256, 3)
        yield frame


def frames_to_classify(kind: str, frame_count: int, rig_frames: Path | None) -> tuple[Iterator[np.ndarray], str]:
    """(frames, description) of the sorter's views or of the photos."""
    if kind == "sorter":
        from device.classifier.command import read_rgb

        paths = sorted(rig_frames.glob("brick-*.jpg"))[:frame_count]
        side = read_rgb(paths[0]).shape[0]
        return (read_rgb(p) for p in paths), f"rendered {side}x{side} rig frames"
    what = "real turntable-10 photos" if photo_paths(1) else "generated frames"
    return iter_photos(frame_count), what


def watch_ms(rig_frames: Path, frame_count: int) -> float:
    """Median time of `BackgroundDetector.detect` (the sorter's per-frame check while it waits
    for a brick) on the rig frames, each read from disk just before, as a camera's are."""
    from device.classifier.command import read_rgb
    from device.vision.detector import BackgroundDetector

    detector = BackgroundDetector([read_rgb(p) for p in sorted(rig_frames.glob("empty-*.jpg"))])
    times = []
    for path in sorted(rig_frames.glob("brick-*.jpg"))[:frame_count]:
        frame = read_rgb(path)
        start = time.perf_counter()
        detector.detect(frame)
        times.append((time.perf_counter() - start) * 1e3)
    return float(np.median(times))


def measure(bundle: Path, frame_count: int, threads: int, kind: str, rig_frames: Path | None, views: int) -> dict:
    """Child process: time each stage without TensorFlow; returns per-frame medians in ms.

    Frames go in groups of `views` (1 for photos): each frame's `model_input` (detect, then
    crop), then one `probabilities` call on the group's crops, as `Recogniser.recognise` does
    for a brick's views (`bricksort classify` takes one image at a time). The bare invoke() runs
    on the classifier's own interpreter right after, on the same batch, so the difference is
    what classify adds around invoke(): tensor copies, dequantising, and invoke() itself
    running slower after detection has evicted its caches. Group times are divided by `views`."""
    from device.classifier.classifier import Classifier, top_categories
    from device.vision.colour import brick_colour_name
    from device.vision.crop import crop_for_model
    from device.vision.still import find_brick_in_still

    classifier = Classifier(bundle, num_threads=threads)
    for _ in range(10):  # warm-up: the first invokes prepare XNNPACK (and the batch shape)
        classifier.probabilities([np.zeros((*INPUT_HW, 3), np.uint8)] * views)
    frames, what = frames_to_classify(kind, frame_count, rig_frames)
    stages: dict[str, list[float]] = {"detect": [], "crop_resize": [], "invoke": [], "post": []}
    colour_ms: list[float] = []  # the sorter's colour check, on with an exported bundle's part colours
    group: list[np.ndarray] = []
    for frame in frames:
        group.append(frame)
        if len(group) < views:
            continue
        detect = crop = 0.0
        crops = []
        for view in group:
            t0 = time.perf_counter()
            box = find_brick_in_still(view)
            t1 = time.perf_counter()
            crops.append(crop_for_model(view, box, INPUT_HW, classifier.bundle.metadata.crop_margin))
            t2 = time.perf_counter()
            detect, crop = detect + t1 - t0, crop + t2 - t1
            if kind == "sorter" and box is not None:
                brick_colour_name(view, box)
                colour_ms.append((time.perf_counter() - t2) * 1e3)
        t2 = time.perf_counter()
        for probabilities in classifier.probabilities(crops):  # set_tensor + invoke + dequantise
            top_categories(probabilities, classifier.labels, 5)
        t3 = time.perf_counter()
        classifier.interpreter.invoke()
        t4 = time.perf_counter()
        for name, value in zip(stages, (detect, crop, t4 - t3, (t3 - t2) - (t4 - t3))):
            stages[name].append(value * 1e3 / views)
        group = []
    return {
        "median_ms": {name: float(np.median(values)) for name, values in stages.items()},
        "watch_ms": watch_ms(rig_frames, frame_count) if kind == "sorter" else None,
        "colour_ms": float(np.median(colour_ms)) if colour_ms else None,
        "backend": classifier.backend,
        "batched": classifier.batchable,
        "views": views,
        "threads": threads,
        "frames": len(stages["detect"]) * views,
        "pipeline": kind,
        "what": what,
        "tensorflow_imported": "tensorflow" in sys.modules,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,  # Linux: kB
    }


def report(result: dict) -> None:
    """Print the stage medians, the ratio to bare invoke(), peak RSS and the Pi estimates."""
    m = result["median_ms"]
    invoke = m["invoke"]
    grouping = (f"{result['views']} views a brick, classified in one {'batch' if result['batched'] else 'call'}"
                if result["views"] > 1 else "one image at a time")
    print(f"\n{result['pipeline']} pipeline: {result['frames']} {result['what']}, still-photo finder, {grouping}; backend {result['backend']}, "
          f"{result['threads']} thread(s); TensorFlow imported in classify process: {result['tensorflow_imported']}")
    print("median per frame (ms; a brick's times divided by its views):" if result["views"] > 1 else "median per frame (ms):")
    for name, value in (("detect", m["detect"]), ("crop+resize", m["crop_resize"]), ("invoke()", invoke), ("post-processing", m["post"])):
        print(f"  {name:16s} {value:7.3f}")
    total = m["detect"] + m["crop_resize"] + invoke + m["post"]
    print(f"  {'total':16s} {total:7.3f}   = {total / invoke:.2f}x bare invoke() (target <= 1.3x)")
    if result.get("colour_ms") is not None:
        with_colour = total + result["colour_ms"]
        print(f"  the sorter's colour check (bundles that record part colours) names each view's brick too: "
              f"{result['colour_ms']:.3f} ms, total {with_colour:.3f} = {with_colour / invoke:.2f}x bare invoke()")
    print(f"peak RSS of classify process: {result['peak_rss_mb']:.1f} MB (target <= 200 MB)")
    if result["watch_ms"] is not None:
        print(f"while waiting for a brick, BackgroundDetector per frame (not classified): {result['watch_ms']:.3f} ms")
    for pi, reference in REFERENCE_MS.items():
        pi_invoke = reference * MAC_RATIO
        # Detection and cropping are NumPy/OpenCV work; assume they slow down like invoke().
        pi_total = pi_invoke * total / invoke
        print(f"{pi} estimate: invoke ~{pi_invoke:.1f} ms, per frame ~{pi_total:.1f} ms "
              f"(published MobileNetV2 1.0/224 quantised {reference:.1f} ms x {MAC_RATIO:.2f} MAC ratio; sources in this script)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--views", type=int, default=3, help="views per brick in the sorter pipeline (default 3, as `bricksort sort`)")
    parser.add_argument("--pi4-ms", type=float, default=REFERENCE_MS["pi4"])
    parser.add_argument("--pi5-ms", type=float, default=REFERENCE_MS["pi5"])
    parser.add_argument("--pipeline", choices=("sorter", "photos", "both"), default="both")
    parser.add_argument("--rig-side", type=int, default=600, help="side of the rendered rig frames (default 600, the twin camera's)")
    parser.add_argument("--build", type=Path, help=argparse.SUPPRESS)  # internal: write the bundle here
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)  # internal: measure this bundle
    parser.add_argument("--rig-frames", type=Path, help=argparse.SUPPRESS)  # internal: rendered rig frames
    args = parser.parse_args()
    if args.build:
        build_bundle(args.build)
        return
    if args.child:
        views = args.views if args.pipeline == "sorter" else 1
        print(json.dumps(measure(args.child, args.frames, args.threads, args.pipeline, args.rig_frames, views)))
        return
    REFERENCE_MS.update(pi4=args.pi4_ms, pi5=args.pi5_ms)
    kinds = ("sorter", "photos") if args.pipeline == "both" else (args.pipeline,)
    # Every job runs in its own process: Linux keeps ru_maxrss across fork+exec, so a
    # classify process started by one that had loaded TensorFlow would report its footprint.
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        bundle = Path(tmp) / "bundle"
        subprocess.run([sys.executable, __file__, "--build", str(bundle)], capture_output=True, check=True)
        print(f"built MobileNetV2 0.35 @160 int8 bundle in {time.perf_counter() - start:.0f} s")
        rig_frames = write_rig_frames(Path(tmp) / "rig", args.frames, args.rig_side) if "sorter" in kinds else None
        for kind in kinds:
            command = [sys.executable, __file__, "--child", str(bundle), "--frames", str(args.frames),
                       "--threads", str(args.threads), "--pipeline", kind, "--views", str(args.views)]
            if rig_frames is not None:
                command += ["--rig-frames", str(rig_frames)]
            child = subprocess.run(command, capture_output=True, text=True, check=True)
            report(json.loads(child.stdout.strip().splitlines()[-1]))


if __name__ == "__main__":
    main()
