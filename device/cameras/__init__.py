"""Cameras behind one interface, chosen by a spec string: `picamera2`, `opencv:N|PATH`, `folder:PATH`.

Importing this package registers the built-in kinds; other kinds (the simulated camera)
register themselves with `register_camera` from their own modules.
"""
from device.cameras.base import Camera, Frame
from device.cameras.errors import CameraError, CameraNotOpenError, CameraSpecError, EndOfStream
from device.cameras.registry import camera_kinds, make_camera, register_camera

# Imported for their registrations.
from device.cameras import folder_camera, opencv_camera, picamera2_camera  # noqa: E402,F401  isort:skip

__all__ = [
    "Camera",
    "CameraError",
    "CameraNotOpenError",
    "CameraSpecError",
    "EndOfStream",
    "Frame",
    "camera_kinds",
    "make_camera",
    "register_camera",
]
