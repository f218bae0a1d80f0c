"""The sort loop's eyes: frames from the camera, the empty-table model, brick arrival and the clear-table check.

Watching (the background, arrival, settling, the clear table) runs on the camera's preview
frames (`Camera.read_preview`: picamera2's low-resolution stream, scaled by the ISP; full
frames elsewhere); the views the model classifies are full frames (`grab`).

The empty table is learned once and kept in a file beside the journal. A sorter restarted
after a crash may find a brick still on the table; learning the background from that frame
would make the brick invisible for good, so a saved background is reused when its frame size
still matches (the camera is bolted to the rig). The first start needs an empty table.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from device.cameras.base import Camera, Frame
from device.vision.box import Box
from device.vision.detector import BackgroundDetector, DetectorConfig, SettleConfig, SettleTracker


@dataclass(frozen=True)
class EyesConfig:
    """How the loop watches the table."""

    learn_frames: int = 5  # frames of the empty table the background is learned from
    max_stale_frames: int = 8  # frames a live camera may have buffered from before a move; dropped
    clear_frames: int = 2  # consecutive empty frames that prove the table clear
    settle: SettleConfig = SettleConfig()
    detector: DetectorConfig = DetectorConfig()

    def __post_init__(self) -> None:
        if self.learn_frames < 1:
            raise ValueError(f"learn_frames must be >= 1, got {self.learn_frames}")
        if self.max_stale_frames < 0:
            raise ValueError(f"max_stale_frames must be >= 0, got {self.max_stale_frames}")
        if self.clear_frames < 1:
            raise ValueError(f"clear_frames must be >= 1, got {self.clear_frames}")


class Eyes:
    """Camera + background detector + settle tracker, as the loop uses them."""

    def __init__(self, camera: Camera, background_file: Path | None = None, config: EyesConfig = EyesConfig()) -> None:
        self.camera = camera
        self.background_file = background_file
        self.config = config
        self._detector: BackgroundDetector | None = None

    def learn_background(self, say: Callable[[str], None] = print) -> None:
        """Load the saved empty-table frames, or learn them now (the table must be empty) and save them."""
        frames = self._saved_background()
        if frames is None:
            say(f"learning the empty turntable from {self.config.learn_frames} frames: keep it clear")
            frames = [self.camera.read_preview().image for _ in range(self.config.learn_frames)]
            if self.background_file is not None:
                tmp = self.background_file.with_name(self.background_file.name + ".tmp.npz")
                np.savez_compressed(tmp, frames=np.stack(frames))
                tmp.replace(self.background_file)
        else:
            say(f"using the empty-table background saved in {self.background_file}")
        self._detector = BackgroundDetector(frames, self.config.detector)

    def _saved_background(self) -> list[np.ndarray] | None:
        if self.background_file is None or not self.background_file.is_file():
            return None
        try:
            with np.load(self.background_file) as data:
                frames = data["frames"]
        except (OSError, ValueError, KeyError):
            return None  # unreadable: learn again rather than refuse to sort
        probe = self.camera.read_preview().image
        if frames.ndim != 4 or frames.shape[1:] != probe.shape or frames.dtype != np.uint8:
            return None
        return list(frames)

    def find(self, image: np.ndarray) -> Box | None:
        """The brick's box in `image` (a preview frame), or None when the table is empty."""
        if self._detector is None:
            raise RuntimeError("learn_background() must run before the loop looks for bricks")
        return self._detector.detect(image).box

    def wait_for_brick(self, should_stop: Callable[[], bool], timeout_s: float | None = None) -> Box | None:
        """Read frames until a brick is present and still; None when `should_stop()` or the timeout says so."""
        if self._detector is None:
            raise RuntimeError("learn_background() must run before the loop looks for bricks")
        tracker = SettleTracker(self.config.settle, step_px=self._detector.box_step_px)
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while not should_stop():
            box = self.find(self.camera.read_preview().image)
            if tracker.update(box):
                return box
            if deadline is not None and time.monotonic() > deadline:
                return None
        return None

    def grab(self, not_before: float) -> np.ndarray:
        """A full frame taken at or after `not_before` (time.time()), dropping frames a live camera buffered earlier."""
        return self._fresh(self.camera.read, not_before)

    def table_clear(self) -> bool:
        """True when `clear_frames` consecutive fresh preview frames show no brick."""
        not_before = time.time()
        return all(self.find(self._fresh(self.camera.read_preview, not_before)) is None for _ in range(self.config.clear_frames))

    def _fresh(self, read: Callable[[], Frame], not_before: float) -> np.ndarray:
        frame = read()
        for _ in range(self.config.max_stale_frames):
            if frame.timestamp >= not_before:
                break
            frame = read()
        return frame.image
