"""A camera backed by a real `cv2.VideoCapture`: USB webcams by index, or video files."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2

from device.cameras.base import Camera, Frame
from device.cameras.errors import CameraError, CameraSpecError, EndOfStream
from device.cameras.registry import register_camera


@dataclass(frozen=True)
class OpenCVCameraConfig:
    """`source` is a device index (webcam) or a video file path."""

    source: int | Path

    def __post_init__(self) -> None:
        if isinstance(self.source, bool) or not isinstance(self.source, (int, Path)):
            raise CameraSpecError(f"opencv source must be a device index or a path, got {self.source!r}")
        if isinstance(self.source, int) and self.source < 0:
            raise CameraSpecError(f"opencv device index must be >= 0, got {self.source}")

    @property
    def is_file(self) -> bool:
        """True for a video file, which ends; False for a live device, which does not."""
        return isinstance(self.source, Path)

    @classmethod
    def from_spec(cls, argument: str) -> "OpenCVCameraConfig":
        """`opencv:N` (device index) or `opencv:path/to/video.mp4`."""
        if not argument:
            raise CameraSpecError("opencv camera needs a device index or a video file: 'opencv:0' or 'opencv:clip.mp4'")
        return cls(int(argument) if argument.isdigit() else Path(argument))


class OpenCVCamera(Camera):
    """Frames from `cv2.VideoCapture`, converted from OpenCV's BGR to RGB.

    The end of a video file raises EndOfStream; a live device that stops delivering raises
    CameraError."""

    def __init__(self, config: OpenCVCameraConfig) -> None:
        super().__init__()
        self.config = config
        self._capture: cv2.VideoCapture | None = None

    @property
    def name(self) -> str:
        return f"opencv:{self.config.source}"

    @property
    def is_live(self) -> bool:
        return not self.config.is_file

    def _open(self) -> None:
        source = self.config.source
        if self.config.is_file:
            if not source.is_file():
                raise CameraError(f"camera {self.name}: no such video file {str(source)!r}")
            capture = cv2.VideoCapture(str(source))
            what = f"video file {str(source)!r}"
        else:
            capture = cv2.VideoCapture(source)
            what = f"camera device index {source} (/dev/video{source} on Linux)"
        if not capture.isOpened():
            capture.release()
            raise CameraError(f"camera {self.name}: OpenCV could not open {what}")
        self._capture = capture

    def _read(self) -> Frame:
        ok, bgr = self._capture.read()
        if not ok or bgr is None:
            if self.config.is_file:
                raise EndOfStream(f"camera {self.name}: end of video file")
            raise CameraError(f"camera {self.name}: the device delivered no frame (unplugged?)")
        metadata = {
            "source": str(self.config.source),
            "frame_index": int(self._capture.get(cv2.CAP_PROP_POS_FRAMES)) - 1,
            "pos_msec": float(self._capture.get(cv2.CAP_PROP_POS_MSEC)),
        }
        return Frame(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), time.time(), metadata)

    def _lock_exposure(self) -> dict[str, Any]:
        if self.config.is_file:
            return {}  # a recording's exposure was fixed when it was made
        capture = self._capture
        # V4L2 through OpenCV: AUTO_EXPOSURE 1 means manual, 3 aperture-priority (auto).
        # Drivers that ignore a property keep reporting their own value, which is what we record.
        capture.set(cv2.CAP_PROP_AUTO_EXPOSURE, 1)
        capture.set(cv2.CAP_PROP_AUTO_WB, 0)
        return {
            "auto_exposure": capture.get(cv2.CAP_PROP_AUTO_EXPOSURE),
            "exposure": capture.get(cv2.CAP_PROP_EXPOSURE),
            "auto_wb": capture.get(cv2.CAP_PROP_AUTO_WB),
            "wb_temperature": capture.get(cv2.CAP_PROP_WB_TEMPERATURE),
            "gain": capture.get(cv2.CAP_PROP_GAIN),
        }

    def _close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None


@register_camera("opencv")
def opencv_camera_from_spec(argument: str, **_context: Any) -> OpenCVCamera:
    """Factory for `opencv:N` and `opencv:path`."""
    return OpenCVCamera(OpenCVCameraConfig.from_spec(argument))
