"""Per-image facts the audit and the duplicate search need, computed in parallel and cached.

Facts for one file: content hash, byte size, what decoding found (or why it failed), the
brick's box as the device's still-photo finder sees it, the brick's colour name as the sorter
names it (device.vision.colour), and the brick-crop descriptor. The
cache is keyed by content hash and crop settings (which include PREPROCESSING_VERSION), so
renaming files or moving the dataset keeps it valid.
"""
from __future__ import annotations

import hashlib
import json
import os
from contextlib import nullcontext
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from tqdm import tqdm

from device.vision.box import Box
from device.vision.colour import brick_colour_name
from trainer.data.crops import CropConfig, brick_box_and_crop, crop_descriptor, frame_thumbnail
from trainer.data.images import ImageInfo, UnreadableImageError, decode_image
from trainer.data.temp_files import temp_beside

CHUNK = 16


@dataclass
class ImageFacts:
    """What one file is. `problem` is an UnreadableImageError reason ("truncated", ...) or None;
    `info`, `descriptor` and `thumbnail` are None exactly when there is a problem. `box` is the
    brick in frame pixels, None when the finder saw none (or the file is unreadable)."""

    path: Path
    sha256: str
    size_bytes: int
    info: ImageInfo | None
    problem: str | None = None
    problem_detail: str = ""
    descriptor: np.ndarray | None = None
    thumbnail: np.ndarray | None = None  # of the whole frame, see crops.frame_thumbnail
    box: Box | None = None
    colour: str | None = None  # the boxed brick's colour name (device.vision.colour); None without a box


# A cache file: this line, one line of JSON (decoding's facts, the box, the arrays' shapes),
# then the descriptor's float32 bytes and the thumbnail's uint8 bytes. Read in ~20 us where
# an .npz took ~420 us (its zip container), which was most of a warm run's analysis.
FACTS_MAGIC = b"bricksort-image-facts 2\n"  # 2: with the brick's colour (2026-12-07)
_DESCRIPTOR_DTYPE, _THUMBNAIL_DTYPE = np.dtype("<f4"), np.dtype("u1")


def _cache_file(cache_dir: Path, sha256: str, config: CropConfig) -> Path:
    return cache_dir / config.cache_tag() / sha256[:2] / f"{sha256}.facts"


def _load_cached(path: Path) -> tuple[ImageInfo, np.ndarray, np.ndarray, Box | None, str | None] | None:
    try:
        data = bytearray(path.read_bytes())  # writable, so the arrays below are too
        if not data.startswith(FACTS_MAGIC):
            return None
        end = data.index(b"\n", len(FACTS_MAGIC)) + 1
        header = json.loads(data[len(FACTS_MAGIC) : end])
        info = ImageInfo(**header["info"])
        descriptor_shape, thumbnail_shape = tuple(header["descriptor"]), tuple(header["thumbnail"])
        descriptor_count = int(np.prod(descriptor_shape))
        descriptor_bytes = descriptor_count * _DESCRIPTOR_DTYPE.itemsize
        if len(data) != end + descriptor_bytes + int(np.prod(thumbnail_shape)) * _THUMBNAIL_DTYPE.itemsize:
            return None  # truncated
        descriptor = np.frombuffer(data, _DESCRIPTOR_DTYPE, offset=end, count=descriptor_count).reshape(descriptor_shape)
        thumbnail = np.frombuffer(data, _THUMBNAIL_DTYPE, offset=end + descriptor_bytes).reshape(thumbnail_shape)
        return info, descriptor, thumbnail, Box.from_list(header["box"]) if header["box"] else None, header["colour"]
    except (OSError, ValueError, KeyError, TypeError):
        return None  # absent or damaged: recompute


def _store_cached(
    path: Path, info: ImageInfo, descriptor: np.ndarray, thumbnail: np.ndarray, box: Box | None, colour: str | None
) -> None:
    header = {"info": asdict(info), "box": box.as_list() if box else None, "colour": colour,
              "descriptor": descriptor.shape, "thumbnail": thumbnail.shape}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_beside(path)  # two threads may store the same duplicate image at once
    with open(tmp, "wb") as file:
        file.write(FACTS_MAGIC + json.dumps(header).encode() + b"\n")
        file.write(np.ascontiguousarray(descriptor, _DESCRIPTOR_DTYPE).tobytes())
        file.write(np.ascontiguousarray(thumbnail, _THUMBNAIL_DTYPE).tobytes())
    os.replace(tmp, path)  # atomic: parallel workers or runs never see half a file
    path.with_suffix(".npz").unlink(missing_ok=True)  # the same entry in the format before 2026-12-02


def image_facts(path: Path, config: CropConfig, cache_dir: Path | None = None) -> ImageFacts:
    """Facts of one file; unreadable files give facts with `problem` set, never an exception."""
    data = Path(path).read_bytes()
    sha256 = hashlib.sha256(data).hexdigest()
    cached = _load_cached(_cache_file(cache_dir, sha256, config)) if cache_dir else None
    if cached:
        return ImageFacts(path, sha256, len(data), cached[0], descriptor=cached[1], thumbnail=cached[2], box=cached[3], colour=cached[4])
    try:
        rgb, info = decode_image(path)
    except UnreadableImageError as exc:
        return ImageFacts(path, sha256, len(data), None, problem=exc.reason, problem_detail=exc.detail)
    box, crop = brick_box_and_crop(rgb, config)
    descriptor, thumbnail = crop_descriptor(crop, config), frame_thumbnail(rgb, config)
    colour = brick_colour_name(rgb, box) if box is not None else None
    if cache_dir:
        _store_cached(_cache_file(cache_dir, sha256, config), info, descriptor, thumbnail, box, colour)
    return ImageFacts(path, sha256, len(data), info, descriptor=descriptor, thumbnail=thumbnail, box=box, colour=colour)


@dataclass(frozen=True)
class FinderBox:
    """The still-photo finder's box in an image: None when nothing stood out."""

    box: Box | None


def cached_finder_box(cache_dir: Path, sha256: str, config: CropConfig = CropConfig()) -> FinderBox | None:
    """The finder's box an earlier analysis cached for the image with content `sha256`, or
    None when the cache does not hold it (or holds it damaged)."""
    cached = _load_cached(_cache_file(cache_dir, sha256, config))
    return None if cached is None else FinderBox(cached[3])


def _facts_of_chunk(args: tuple[list[Path], CropConfig, Path | None]) -> list[ImageFacts]:
    paths, config, cache_dir = args
    return [image_facts(path, config, cache_dir) for path in paths]


def analyse_images(
    paths: Sequence[Path],
    config: CropConfig = CropConfig(),
    cache_dir: Path | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> list[ImageFacts]:
    """Facts for every path, in order, using `workers` threads (default: one per core)."""
    workers = workers or os.cpu_count() or 1
    chunks = [list(paths[i : i + CHUNK]) for i in range(0, len(paths), CHUNK)]
    bar = tqdm(total=len(paths), desc="analysing images", unit="img", disable=not progress)
    facts: list[ImageFacts] = []
    jobs = [(chunk, config, cache_dir) for chunk in chunks]
    parallel = workers > 1 and len(chunks) > 1
    # Threads, not processes: decoding and OpenCV release the GIL, and a process pool would
    # need fork (unsafe once TensorFlow is loaded) or a __main__ guard in every caller.
    with ThreadPoolExecutor(workers) if parallel else nullcontext() as pool:
        for result in (pool.map if pool else map)(_facts_of_chunk, jobs):
            facts.extend(result)
            bar.update(len(result))
    bar.close()
    return facts
