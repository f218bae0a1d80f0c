"""Camera errors, following the project convention: bad specs are ValueErrors, devices and files OSErrors."""
from __future__ import annotations


class CameraError(OSError):
    """A camera could not be opened or could not deliver a frame."""


class CameraNotOpenError(CameraError):
    """`read()` or `lock_exposure()` was called on a camera that is not open."""


class EndOfStream(CameraError):
    """A finite source (video file, image folder) has no more frames.

    This is the one end-of-input signal for every camera kind: iterating a camera stops on
    it, and code that calls `read()` directly catches it."""


class CameraSpecError(ValueError):
    """A camera spec string (`kind:argument`) or config value is malformed or names an unknown kind."""
