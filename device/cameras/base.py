"""The camera interface: what every kind of camera (real or simulated) offers the rest of the device."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np

from device.cameras.errors import CameraNotOpenError, EndOfStream


@dataclass
class Frame:
    """One image from a camera.

    `image` is HxWx3 uint8 in RGB order whatever the source delivered; `timestamp` is the
    wall-clock time (seconds since the epoch) at which the frame was obtained; `metadata`
    holds what the source knows about it (file name, frame index, sensor controls)."""

    image: np.ndarray
    timestamp: float
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        image = self.image
        if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            shape = getattr(image, "shape", None)
            dtype = getattr(image, "dtype", type(image).__name__)
            raise ValueError(f"frame image must be HxWx3 uint8 RGB, got shape {shape} dtype {dtype}")


class Camera(ABC):
    """A source of RGB frames: `open()`, `read()` (and `read_preview()`), `lock_exposure()`, `close()`.

    Use it as a context manager (`with make_camera(spec) as cam:`). Subclasses implement the
    `_open`, `_read`, `_lock_exposure` and `_close` hooks; this class keeps the open/closed
    state so every kind refuses to read before `open()` the same way."""

    def __init__(self) -> None:
        self._is_open = False

    @property
    def name(self) -> str:
        """What this camera reads from, for messages and manifests (e.g. `opencv:0`)."""
        return type(self).__name__

    @property
    def is_live(self) -> bool:
        """True for a live sensor, whose driver may hand out frames buffered before the call;
        False for a recording (file, folder), where every frame counts."""
        return True

    @property
    def is_open(self) -> bool:
        """True between a successful `open()` and `close()`."""
        return self._is_open

    def open(self) -> None:
        """Acquire the device or file; a second call does nothing. Raises CameraError if it cannot."""
        if not self._is_open:
            self._open()
            self._is_open = True

    def read(self) -> Frame:
        """The next frame. Raises EndOfStream when a finite source is exhausted."""
        self._require_open("read")
        return self._read()

    def read_preview(self) -> Frame:
        """A frame for watching the table (is a brick there, has it settled?), possibly smaller
        than `read()`'s: a camera with a cheap low-resolution stream (picamera2's `lores`,
        scaled by the ISP) returns that; the others return `read()`'s frame."""
        self._require_open("read")
        return self._read_preview()

    def lock_exposure(self) -> dict[str, Any]:
        """Fix exposure and white balance so consecutive frames match; returns the locked controls.

        Sources without such controls (files) return what describes them, possibly `{}`."""
        self._require_open("lock exposure of")
        return self._lock_exposure()

    def close(self) -> None:
        """Release the device or file; safe to call twice."""
        if self._is_open:
            self._is_open = False
            self._close()

    def __enter__(self) -> "Camera":
        self.open()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[Frame]:
        """Frames until the source ends (EndOfStream); endless for live cameras."""
        while True:
            try:
                yield self.read()
            except EndOfStream:
                return

    def _require_open(self, action: str) -> None:
        if not self._is_open:
            raise CameraNotOpenError(f"cannot {action} camera {self.name}: call open() first (or use `with`)")

    @abstractmethod
    def _open(self) -> None: ...

    @abstractmethod
    def _read(self) -> Frame: ...

    def _read_preview(self) -> Frame:
        return self._read()

    @abstractmethod
    def _lock_exposure(self) -> dict[str, Any]: ...

    @abstractmethod
    def _close(self) -> None: ...
