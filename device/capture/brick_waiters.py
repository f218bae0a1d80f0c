"""Ways to wait until the next brick is on the turntable: a person pressing Enter, or the detector."""
from __future__ import annotations

from typing import Callable

import numpy as np

from device.cameras import Camera
from device.capture.session import wait_until_clear, wait_until_present
from device.vision.box import Box
from device.vision.detector import BackgroundDetector, DetectorConfig, SettleConfig, SettleTracker


class EnterWaiter:
    """Asks the operator to place brick `number` and press Enter (`--manual`)."""

    def __init__(self, ask: Callable[[str], str] = input) -> None:
        self.ask = ask

    def __call__(self, number: int, total: int) -> None:
        try:
            self.ask(f"Place brick {number}/{total} on the turntable and press Enter: ")
        except EOFError:
            raise OSError("standard input closed while waiting for Enter; run without --manual to detect bricks") from None


class DetectorWaiter:
    """Waits for the table to be empty, then for a brick to arrive and hold still.

    The empty table is learned from `learn_frames` frames the first time it is needed, so a
    run that resumes with a brick still on the table never mistakes it for background."""

    def __init__(
        self,
        camera: Camera,
        say: Callable[[str], None] = print,
        learn_frames: int = 5,
        detector_config: DetectorConfig = DetectorConfig(),
        settle_config: SettleConfig = SettleConfig(),
        poll_s: float = 0.1,
    ) -> None:
        if learn_frames < 1:
            raise ValueError(f"learn_frames must be >= 1, got {learn_frames}")
        self.camera = camera
        self.say = say
        self.learn_frames = learn_frames
        self.detector_config = detector_config
        self.settle_config = settle_config
        self.settle: SettleTracker | None = None
        self.poll_s = poll_s
        self.detector: BackgroundDetector | None = None

    def presence(self, image: np.ndarray) -> Box | None:
        """The brick's box in `image` (a preview frame), or None (needs the background learned)."""
        return self.detector.detect(image).box

    def __call__(self, number: int, total: int) -> None:
        if self.detector is None:
            self.say(f"Learning the empty turntable from {self.learn_frames} frames: keep it clear.")
            frames = [self.camera.read_preview().image for _ in range(self.learn_frames)]
            self.detector = BackgroundDetector(frames, self.detector_config)
            self.settle = SettleTracker(self.settle_config, step_px=self.detector.box_step_px)
        else:
            self.say("Take the brick off the turntable.")
            wait_until_clear(self.camera, self.presence, poll_s=self.poll_s)
        self.say(f"Place brick {number}/{total} on the turntable.")
        wait_until_present(self.camera, self.presence, self.settle, poll_s=self.poll_s)
