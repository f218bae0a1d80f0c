"""How `find_brick_in_still` copes with real photos: overlays boxes on a sample (PNG grid to
look at) and prints the fraction of plausible boxes and the time per photo; and, with
--rendered N, how far its boxes are from the renderer's exact ones.

    python benchmarks/eval_still_detector.py [--data ../shared/datasets] [--sample 48] [--out still_boxes] [--rendered 200]

A box counts as plausible when one was found, it covers between 0.5% and 60% of the photo
and it does not span the whole width or height (the signs of a background mistaken for the
brick). Photos of one part on one rig have boxes of about one size, so a box whose longer
side (over the frame's shorter one) is under 0.6x (over 1.6x) its class's median is counted
as partial (too big): a piece of a pale brick, or a brick with its shadow (the test
`bricksort audit` makes, `trainer.data.audit.off_class_median`). These are sanity bounds, not ground truth: look at
the PNGs. The rendered frames (random LEGO colours, then pale ones, 300x300) have ground truth:
missed bricks and the mean distance of the four box edges from the exact box.
"""
from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

import cv2
import numpy as np

from device.vision.box import Box
from device.vision.still import find_brick_in_still
from trainer.data.audit import AuditConfig, off_class_median

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
SETS = {"turntable-10": "turntable-10/*/*.jpg", "redparts-8": "redparts-8/photos/*/*.png"}


def is_plausible(box: Box | None, frame_hw: tuple[int, int]) -> bool:
    """Sanity bound on a detected box (see the module docstring)."""
    if box is None:
        return False
    height, width = frame_hw
    area = box.w * box.h / (height * width)
    return 0.005 <= area <= 0.6 and box.w < width and box.h < height


def overlay_grid(frames: list[np.ndarray], boxes: list[Box | None], columns: int = 8) -> np.ndarray:
    """BGR mosaic of the frames with their boxes drawn (red when implausible)."""
    tiles = []
    for frame, box in zip(frames, boxes):
        tile = cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
        if box is not None:
            colour = (0, 200, 0) if is_plausible(box, frame.shape[:2]) else (0, 0, 255)
            cv2.rectangle(tile, (box.x, box.y), (box.x + box.w - 1, box.y + box.h - 1), colour, 2)
        tiles.append(cv2.resize(tile, (192, 192), interpolation=cv2.INTER_AREA))
    while len(tiles) % columns:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.hstack(tiles[i : i + columns]) for i in range(0, len(tiles), columns)]
    return np.vstack(rows)


def evaluate(name: str, paths: list[Path], out: Path, sample: int) -> None:
    """Detect on every photo in `paths`, print figures, write an overlay of a random sample."""
    plausible, missed, times, shown_frames, shown_boxes = 0, 0, [], [], []
    sides: list[tuple[str, float]] = []  # (class folder, box side / frame side) of each box found
    shown = set(random.Random(0).sample(range(len(paths)), min(sample, len(paths))))
    for i, path in enumerate(paths):
        frame = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        start = time.perf_counter()
        box = find_brick_in_still(frame)
        times.append(time.perf_counter() - start)
        plausible += is_plausible(box, frame.shape[:2])
        if box is None:
            missed += 1
        else:
            sides.append((path.parent.name, max(box.w, box.h) / min(frame.shape[:2])))
        if i in shown:
            shown_frames.append(frame)
            shown_boxes.append(box)
    out.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out / f"{name}.png"), overlay_grid(shown_frames, shown_boxes))
    low, high = AuditConfig().box_size_range  # the audit's own test, so the figures match its report
    ratios = [ratio for _, ratio in off_class_median(sides, (low, high))]
    partial, big = sum(r < low for r in ratios), sum(r > high for r in ratios)
    print(
        f"{name}: {len(paths)} photos, plausible boxes {plausible / len(paths):.1%}, "
        f"none {missed}, partial {partial}, too big {big} (against the class median), "
        f"detect median {np.median(times) * 1e3:.2f} ms, p95 {np.percentile(times, 95) * 1e3:.2f} ms "
        f"-> {out / (name + '.png')}"
    )


def edge_error(found: Box, exact: Box) -> float:
    """Mean distance in pixels of the four edges of `found` from those of `exact`."""
    return (
        abs(found.x - exact.x) + abs(found.y - exact.y)
        + abs(found.x + found.w - exact.x - exact.w) + abs(found.y + found.h - exact.y - exact.h)
    ) / 4.0


def evaluate_rendered(count: int, seed: int = 0) -> None:
    """Render `count` bricks in random colours and `count` pale ones; print missed bricks and
    edge errors of the finder's boxes against the exact ones."""
    from device.sim.colors import PALETTE
    from device.sim.parts import CATALOGUE
    from device.sim.renderer import Renderer
    from device.sim.scene import random_brick

    pale = tuple(c for c in PALETTE if c.name in ("White", "Tan", "Bright Pink"))
    renderer, parts = Renderer((300, 300)), sorted(CATALOGUE)
    for name, palette in (("random colours", PALETTE), ("pale", pale)):
        rng, missed, errors = np.random.default_rng(seed), 0, []
        for i in range(count):
            frame = renderer.render_labeled(random_brick(parts[i % len(parts)], rng, palette=palette), rng.uniform(0, 360), rng)
            found = find_brick_in_still(frame.image)
            if found is None:
                missed += 1
            else:
                errors.append(edge_error(found, Box.from_list(frame.box)))
        print(
            f"rendered, {name}: {count} frames, missed {missed}, edge error median {np.median(errors):.1f} px, "
            f"90th percentile {np.percentile(errors, 90):.1f} px, over 20 px {np.mean(np.array(errors) > 20):.1%}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--sample", type=int, default=48, help="photos per overlay PNG")
    parser.add_argument("--out", type=Path, default=Path("still_boxes"))
    parser.add_argument("--limit", type=int, default=0, help="evaluate at most this many photos per set (0: all)")
    parser.add_argument("--rendered", type=int, default=0, help="also compare with exact boxes on this many rendered frames per palette")
    args = parser.parse_args()
    if args.rendered:
        evaluate_rendered(args.rendered)
    for name, pattern in SETS.items():
        paths = sorted(args.data.glob(pattern))
        if not paths:
            print(f"{name}: no photos under {args.data}")
            continue
        if args.limit:
            paths = random.Random(1).sample(paths, min(args.limit, len(paths)))
        evaluate(name, paths, args.out, args.sample)


if __name__ == "__main__":
    main()
