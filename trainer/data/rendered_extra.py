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
Parts render in parallel processes, one per core: the renderer is mostly single-threaded
Python and NumPy (threads would queue on the GIL), and each part's images depend only on the
seed and the part, so they come out the same however the parts are shared out.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Sequence

import numpy as np
from PIL import Image
from tqdm import tqdm

from device.sim.parts import PART_IDS
from device.sim.renderer import RENDER_VERSION
from device.sim.synth import SynthConfig, synthesize
from trainer.data.analysis import analyse_images
from trainer.data.dataset import ImageItem

RENDER_SEED = 12  # the same renders for every split seed: runs differ only in the photos
MAX_RENDER_SIDE = 1024  # larger frames are rendered at this size (aspect kept): the crop shrinks them anyway
SIZE_SAMPLE = 64  # images read (headers only) to find the data's frame size


class _RenderJob(NamedTuple):
    """`render_part`'s arguments for one part."""

    root: Path
    part: str
    bricks_per_part: int
    views: int
    size_hw: tuple[int, int]
    facts_cache: Path | None


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
    workers: int | None = None,
    facts_cache: Path | None = None,
) -> RenderedParts:
    """A rendered captures root for each of `classes` the simulator's catalogue knows, rendering
    only those not cached under `cache_root` yet, in up to `workers` processes (default: one
    per core). With `facts_cache`, each process also analyses the renders it made into that
    crop-facts cache (`trainer.data.analysis`), so the held-out check that reads them next
    finds them there instead of analysing them in this process, on the GIL."""
    parts = [part for part in classes if part in PART_IDS]
    key = f"r{RENDER_VERSION}-{size_hw[0]}x{size_hw[1]}-seed{RENDER_SEED}-{bricks_per_part}x{views}"
    root = Path(cache_root).expanduser() / key
    todo = [part for part in parts if not (root / part).is_dir()]
    if todo:
        if progress:
            print(f"rendering {bricks_per_part} bricks x {views} views of {len(todo)} part(s) at "
                  f"{size_hw[0]}x{size_hw[1]} (once: kept in {root})")
        root.mkdir(parents=True, exist_ok=True)
        jobs = [_RenderJob(root, part, bricks_per_part, views, size_hw, facts_cache) for part in todo]
        workers = min(len(jobs), workers or os.cpu_count() or 1)
        if workers > 1:
            _render_in_processes(jobs, workers, progress)
        else:
            for job in jobs:
                render_part(*job, progress=progress)
    return RenderedParts(tuple(root / part for part in parts), tuple(part for part in classes if part not in PART_IDS))


def render_part(
    root: Path, part: str, bricks_per_part: int, views: int, size_hw: tuple[int, int], facts_cache: Path | None = None, progress: bool = False
) -> Path:
    """Render one part into `root/part`: into a temporary folder first, renamed into place
    once whole; then, with `facts_cache`, analyse its renders into that cache."""
    folder = root / part
    with tempfile.TemporaryDirectory(dir=root, prefix=f".{part}-") as tmp:
        config = SynthConfig(Path(tmp) / part, (part,), bricks_per_part, views, RENDER_SEED, size_hw)
        synthesize(config, progress=progress)
        try:
            (Path(tmp) / part).rename(folder)
        except OSError:
            # Another run sharing the cache (a second worker) rendered the same seeded images first.
            if not folder.is_dir():
                raise
    if facts_cache is not None:
        analyse_images(sorted(folder.rglob("*.jpg")), cache_dir=facts_cache, workers=1, progress=False)
    return folder


def _render_in_processes(jobs: list[_RenderJob], workers: int, progress: bool) -> None:
    """`render_part` for each job in a fresh Python process, `workers` at a time, with one
    progress bar over all images. Not multiprocessing: its spawned workers first re-run the
    caller's main script, which a script calling `run_training` without a `__main__` guard
    does not survive, and forking a process that runs TensorFlow's or OpenCV's threads is unsafe."""
    images = {job.part: job.bricks_per_part * job.views for job in jobs}
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path for path in sys.path if path)}

    def render(job: _RenderJob) -> str:
        height, width = job.size_hw
        command = [sys.executable, "-m", __name__, str(job.root), job.part, str(job.bricks_per_part), str(job.views), str(height), str(width)]
        command += [str(job.facts_cache)] if job.facts_cache is not None else []
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"rendering part {job.part} failed (exit status {done.returncode}):\n{done.stderr[-3000:]}")
        return job.part

    with ThreadPoolExecutor(workers) as pool, tqdm(total=sum(images.values()), desc="rendering", unit="img", disable=not progress) as bar:
        futures = [pool.submit(render, job) for job in jobs]
        try:
            for future in as_completed(futures):
                bar.update(images[future.result()])
        except BaseException:
            for future in futures:
                future.cancel()  # parts not started yet; running ones finish or fail in their temporary folders
            raise


if __name__ == "__main__":  # one part, for _render_in_processes: ROOT PART BRICKS VIEWS HEIGHT WIDTH [FACTS_CACHE]
    _root, _part, _bricks, _views, _height, _width, *_facts = sys.argv[1:]
    render_part(Path(_root), _part, int(_bricks), int(_views), (int(_height), int(_width)), Path(_facts[0]) if _facts else None)
