"""Rendered bricks that train beside the photos (`TrainConfig.synth_bricks`).

Real captures show each part in the few poses its bricks happened to land in; a pose that
no training photo shows is then read as a look-alike part. The simulator renders every part
the catalogue knows in the poses its catalogue entry lists (`device.sim.parts`: rectangular
bricks upright, upside down and on a long side; not on their end, which measured worse),
in random colours and lights, with exact labels, so a few hundred renders a part fill gaps. They go through
`load_extra_images` like any `--extra-train` folder: training side only, and a render whose
crop repeats a held-out photo is left out.

Renders are cached, one captures root per part, under a key of everything that shapes them
(renderer version, frame size, seed, bricks, views), so a second run renders nothing and a
run on other parts renders only the parts it lacks. A part is rendered into a temporary
folder and renamed into place, so an interrupted render is never taken for a finished one.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image

from device.sim.parts import PART_IDS
from device.sim.renderer import RENDER_VERSION
from device.sim.synth import SynthConfig, synthesize
from trainer.data.dataset import ImageItem

RENDER_SEED = 12  # the same renders for every split seed: runs differ only in the photos
MAX_RENDER_SIDE = 1024  # larger frames are rendered at this size (aspect kept): the crop shrinks them anyway
SIZE_SAMPLE = 64  # images read (headers only) to find the data's frame size


@dataclass(frozen=True)
class RenderedParts:
    """The rendered training folders of one run: a captures root per part, and the data's
    parts the simulator cannot draw."""

    folders: tuple[Path, ...]
    missing: tuple[str, ...]


def frame_size_hw(items: Sequence[ImageItem], sample: int = SIZE_SAMPLE, max_side: int = MAX_RENDER_SIDE) -> tuple[int, int]:
    """The median (height, width) of up to `sample` evenly spaced images (read from their headers),
    shrunk to `max_side` on the longer side. Renders at the camera's size crop like its photos:
    a brick drawn larger is shrunk more into the crop and comes out sharper than any photo."""
    if not items:
        raise ValueError("no images to take the frame size from")
    step = max(1, len(items) // sample)
    sizes = []
    for item in items[::step][:sample]:
        try:
            with Image.open(item.path) as image:
                sizes.append(image.size[::-1])
        except OSError:
            continue  # unreadable files are listed and skipped by training
    if not sizes:
        raise ValueError("none of the sampled images could be read to take the frame size from")
    height, width = (int(v) for v in np.median(np.array(sizes), axis=0))
    scale = min(1.0, max_side / max(height, width))
    return max(16, round(height * scale)), max(16, round(width * scale))


def rendered_parts(
    classes: Sequence[str],
    bricks_per_part: int,
    views: int,
    size_hw: tuple[int, int],
    cache_root: Path,
    progress: bool = True,
) -> RenderedParts:
    """A rendered captures root for each of `classes` the simulator's catalogue knows, rendering
    only those not cached under `cache_root` yet."""
    parts = [part for part in classes if part in PART_IDS]
    key = f"r{RENDER_VERSION}-{size_hw[0]}x{size_hw[1]}-seed{RENDER_SEED}-{bricks_per_part}x{views}"
    root = Path(cache_root).expanduser() / key
    folders = []
    for part in parts:
        folder = root / part
        if not folder.is_dir():
            if progress:
                print(f"rendering {bricks_per_part} bricks x {views} views of part {part} at {size_hw[0]}x{size_hw[1]} (once: kept in {root})")
            root.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=root, prefix=f".{part}-") as tmp:
                config = SynthConfig(Path(tmp) / part, (part,), bricks_per_part, views, RENDER_SEED, size_hw)
                synthesize(config, progress=progress)
                try:
                    (Path(tmp) / part).rename(folder)
                except OSError:
                    # Another run sharing the cache (a second worker) rendered the same seeded images first.
                    if not folder.is_dir():
                        raise
        folders.append(folder)
    return RenderedParts(tuple(folders), tuple(part for part in classes if part not in PART_IDS))
