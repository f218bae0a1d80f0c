"""A camera that replays the image files of a folder in sorted name order (offline runs, tests)."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from device.cameras.base import Camera, Frame
from device.cameras.errors import CameraError, CameraSpecError, EndOfStream
from device.cameras.registry import register_camera

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


@dataclass(frozen=True)
class FolderCameraConfig:
    """`path` is a folder of images; files whose suffix is not in `suffixes` are ignored."""

    path: Path
    suffixes: tuple[str, ...] = IMAGE_SUFFIXES

    @classmethod
    def from_spec(cls, argument: str) -> "FolderCameraConfig":
        """`folder:PATH`."""
        if not argument:
            raise CameraSpecError("folder camera needs a path: 'folder:path/to/images'")
        return cls(Path(argument))


class FolderCamera(Camera):
    """Each `read()` decodes the next image file; EndOfStream after the last.

    An unreadable file raises CameraError naming it, and the camera has already moved past
    it, so a caller that wants to skip bad files catches the error and reads again."""

    def __init__(self, config: FolderCameraConfig) -> None:
        super().__init__()
        self.config = config
        self._files: list[Path] = []
        self._next = 0

    @property
    def name(self) -> str:
        return f"folder:{self.config.path}"

    @property
    def is_live(self) -> bool:
        return False

    @property
    def files(self) -> list[Path]:
        """The image files this camera replays, in order (empty until opened)."""
        return list(self._files)

    def _open(self) -> None:
        folder = self.config.path
        if not folder.is_dir():
            raise CameraError(f"camera {self.name}: {str(folder)!r} is not a folder")
        files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in self.config.suffixes)
        if not files:
            raise CameraError(
                f"camera {self.name}: no image files ({', '.join(self.config.suffixes)}) in {str(folder)!r}"
            )
        self._files, self._next = files, 0

    def _read(self) -> Frame:
        if self._next >= len(self._files):
            raise EndOfStream(f"camera {self.name}: all {len(self._files)} images replayed")
        path = self._files[self._next]
        self._next += 1
        # imdecode over the bytes rather than imread: works for any path and reports read errors.
        bgr = cv2.imdecode(np.fromfile(path, dtype=np.uint8), cv2.IMREAD_COLOR)
        if bgr is None:
            raise CameraError(f"camera {self.name}: cannot decode image file {str(path)!r}")
        metadata = {"file": str(path), "frame_index": self._next - 1}
        return Frame(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), time.time(), metadata)

    def _lock_exposure(self) -> dict[str, Any]:
        return {}  # recorded images carry whatever exposure they were taken with

    def _close(self) -> None:
        self._files, self._next = [], 0


@register_camera("folder")
def folder_camera_from_spec(argument: str, **_context: Any) -> FolderCamera:
    """Factory for `folder:PATH`."""
    return FolderCamera(FolderCameraConfig.from_spec(argument))
