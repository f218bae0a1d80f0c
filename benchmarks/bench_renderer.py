"""Frames per second of the simulated-turntable renderer on ONE core.

    python benchmarks/bench_renderer.py [--frames 600] [--size 300 300] [--views 8]

Prints three figures: steady state (one brick turning, its session cached), a synth-like mix
(a new brick and look every `--views` frames, so the background and noise bank are rebuilt),
and the same mix without the JPEG round trip.
"""
from __future__ import annotations

import argparse
import time

import cv2
import numpy as np

from device.sim.parts import PART_IDS
from device.sim.renderer import Renderer
from device.sim.scene import random_brick


def frames_per_second(renderer: Renderer, frames: int, views: int, seed: int) -> float:
    """Render `frames` frames, a fresh random brick (and look) every `views` frames."""
    rng = np.random.default_rng(seed)
    bricks = [random_brick(PART_IDS[i % len(PART_IDS)], rng) for i in range(frames // views + 1)]
    renderer.render(bricks[0], 0.0, rng)  # warm the mesh caches
    start = time.perf_counter()
    for i in range(frames):
        renderer.render(bricks[i // views], 360.0 * (i % views) / views, rng)
    return frames / (time.perf_counter() - start)


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=600)
    parser.add_argument("--size", type=int, nargs=2, default=(300, 300), metavar=("H", "W"))
    parser.add_argument("--views", type=int, default=8, help="views per brick in the synth-like mix")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    size = (args.size[0], args.size[1])
    steady = frames_per_second(Renderer(size), args.frames, args.frames, seed=0)
    mixed = frames_per_second(Renderer(size), args.frames, args.views, seed=1)
    raw = frames_per_second(Renderer(size, jpeg=False), args.frames, args.views, seed=1)
    print(f"renderer {size[0]}x{size[1]}, 1 OpenCV thread, {args.frames} frames")
    print(f"  one brick turning (cached session)      : {steady:7.1f} frames/s")
    print(f"  new brick+look every {args.views} views, with JPEG : {mixed:7.1f} frames/s")
    print(f"  new brick+look every {args.views} views, no JPEG   : {raw:7.1f} frames/s")


if __name__ == "__main__":
    main()
