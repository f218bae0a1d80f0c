"""A thread pool for per-image work (decoding, the device's crop, crop descriptors).

Decoding and OpenCV release the GIL, so a thread per core shares the work out. OpenCV's own
parallel loops are turned off while the pool is open: on the finder's ~150-pixel working
copies they cost more than they give, and inside a pool of one thread per core they compete
with it for the same cores. On 2,000 rendered frames here the crop analysis took 2.6-3.2 s
with them off against 3.3-3.4 s with them on (4.1-4.7 s of CPU against 5.5-5.6 s).
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import cv2


@contextmanager
def image_threads(workers: int | None = None) -> Iterator[ThreadPoolExecutor]:
    """A pool of `workers` threads (default: one per core), with OpenCV single-threaded until it
    closes (then as it was)."""
    previous = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        with ThreadPoolExecutor(max(1, workers or os.cpu_count() or 1)) as pool:
            yield pool
    finally:
        cv2.setNumThreads(previous)
