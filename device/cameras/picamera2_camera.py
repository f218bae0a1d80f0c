"""The Raspberry Pi camera through picamera2 (libcamera), with exposure and white balance locked.

picamera2 is imported only when the camera opens, so everything else runs where it is not
installed. Tests hand a stand-in module to `PiCamera2Camera(config, module=...)`, so this
driver code (controls, channel order) is what they exercise.
"""
from __future__ import annotations

import importlib
import time
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from device.cameras.base import Camera, Frame
from device.cameras.errors import CameraError, CameraSpecError
from device.cameras.registry import parse_options, register_camera

LOCKED_CONTROLS = ("ExposureTime", "AnalogueGain", "ColourGains")
MAIN_FORMAT = "BGR888"  # R,G,B in memory (see PiCamera2Camera)
# A Pi 4's ISP gives its low-resolution stream in YUV420 only (a Pi 5's in RGB too): planar
# I420, read as (height * 3/2, stride) bytes, which OpenCV turns into RGB in one call.
PREVIEW_FORMAT = "YUV420"


@dataclass(frozen=True)
class PiCamera2Config:
    """Sensor set-up. Exposure, gain and colour gains left as None are measured once by the
    automatic algorithms (over `settle_frames` frames) and then locked."""

    camera_index: int = 0
    size: tuple[int, int] = (1280, 960)  # (width, height), as picamera2 takes it
    exposure_us: int | None = None
    analogue_gain: float | None = None
    colour_gains: tuple[float, float] | None = None  # (red, blue)
    settle_frames: int = 15
    # (width, height) of the ISP's low-resolution `lores` stream that `read_preview()` returns
    # (the sorter watches for bricks on it), at most `size`; None: previews are full frames.
    preview_size: tuple[int, int] | None = (320, 240)

    def __post_init__(self) -> None:
        if self.camera_index < 0:
            raise CameraSpecError(f"picamera2 camera index must be >= 0, got {self.camera_index}")
        if len(self.size) != 2 or min(self.size) <= 0:
            raise CameraSpecError(f"picamera2 size must be two positive numbers (width, height), got {self.size}")
        if self.exposure_us is not None and self.exposure_us <= 0:
            raise CameraSpecError(f"picamera2 exposure must be > 0 microseconds, got {self.exposure_us}")
        if self.analogue_gain is not None and self.analogue_gain < 1.0:
            raise CameraSpecError(f"picamera2 analogue gain must be >= 1.0, got {self.analogue_gain}")
        if self.colour_gains is not None and (len(self.colour_gains) != 2 or min(self.colour_gains) <= 0):
            raise CameraSpecError(f"picamera2 colour gains must be two positive numbers (red, blue), got {self.colour_gains}")
        if self.settle_frames < 1:
            raise CameraSpecError(f"picamera2 settle_frames must be >= 1, got {self.settle_frames}")
        if self.preview_size is not None and (len(self.preview_size) != 2 or min(self.preview_size) < 2 or any(side % 2 for side in self.preview_size)):
            raise CameraSpecError(f"picamera2 preview size must be two even numbers of at least 2 (width, height), got {self.preview_size}")

    @property
    def lores_size(self) -> tuple[int, int] | None:
        """The `lores` stream's (width, height): `preview_size`, no larger than the frame
        (libcamera's rule), kept even (YUV420 halves both sides)."""
        if self.preview_size is None:
            return None
        return tuple(min(preview, frame) // 2 * 2 for preview, frame in zip(self.preview_size, self.size))

    @property
    def fixed_controls(self) -> dict[str, Any]:
        """The controls given in the config (possibly not all of them)."""
        controls: dict[str, Any] = {}
        if self.exposure_us is not None:
            controls["ExposureTime"] = self.exposure_us
        if self.analogue_gain is not None:
            controls["AnalogueGain"] = self.analogue_gain
        if self.colour_gains is not None:
            controls["ColourGains"] = tuple(self.colour_gains)
        return controls

    @classmethod
    def from_spec(cls, argument: str) -> "PiCamera2Config":
        """`picamera2[:exposure=US,gain=G,colour_gains=R/B,size=WxH,index=N,settle=F,preview=WxH|off]`."""
        options = parse_options(argument, "picamera2")
        parsers = {
            "index": ("camera_index", int),
            "size": ("size", _pair("x", int)),
            "exposure": ("exposure_us", int),
            "gain": ("analogue_gain", float),
            "colour_gains": ("colour_gains", _pair("/", float)),
            "settle": ("settle_frames", int),
            "preview": ("preview_size", _preview_size),
        }
        fields: dict[str, Any] = {}
        for key, text in options.items():
            if key not in parsers:
                raise CameraSpecError(f"unknown picamera2 option {key!r}; known: {', '.join(parsers)}")
            name, parse = parsers[key]
            try:
                fields[name] = parse(text)
            except ValueError as exc:
                raise CameraSpecError(f"picamera2 option {key}={text!r} is not valid: {exc}") from None
        return cls(**fields)


def _preview_size(text: str) -> tuple[int, int] | None:
    if text == "off":
        return None
    try:
        return _pair("x", int)(text)
    except ValueError:
        raise ValueError("expected WIDTHxHEIGHT or off") from None


def _pair(separator: str, kind: type) -> Any:
    def parse(text: str) -> tuple:
        parts = text.split(separator)
        if len(parts) != 2:
            raise ValueError(f"expected two values separated by {separator!r}")
        return (kind(parts[0]), kind(parts[1]))

    return parse


class PiCamera2Camera(Camera):
    """Picamera2 delivering RGB frames with AE and AWB off once `lock_exposure()` has run.

    libcamera names formats by register order, so picamera2's `RGB888` is B,G,R in memory
    and `BGR888` is R,G,B. The ISP writes `BGR888`, so frames arrive in RGB order with no
    pass of our own: reversing `RGB888` in NumPy took 8-15 ms per 1280x960 frame here (OpenCV's
    cvtColor 0.5 ms), longer than the classifier's `invoke()`."""

    def __init__(self, config: PiCamera2Config, module: ModuleType | None = None) -> None:
        super().__init__()
        self.config = config
        self._module = module
        self._picam = None
        self._locked: dict[str, Any] = {}

    @property
    def name(self) -> str:
        return f"picamera2:index={self.config.camera_index}"

    def _open(self) -> None:
        module = self._module or self._import_picamera2()
        try:
            picam = module.Picamera2(self.config.camera_index)
        except (RuntimeError, IndexError, OSError) as exc:
            raise CameraError(f"camera {self.name}: picamera2 could not open camera {self.config.camera_index}: {exc}") from exc
        try:
            streams = {"main": {"size": tuple(self.config.size), "format": MAIN_FORMAT}}
            if self.config.lores_size is not None:
                streams["lores"] = {"size": self.config.lores_size, "format": PREVIEW_FORMAT}
            picam.configure(picam.create_still_configuration(**streams, buffer_count=2))
            picam.start()
        except Exception:
            picam.close()
            raise
        self._picam = picam

    def _import_picamera2(self) -> ModuleType:
        try:
            return importlib.import_module("picamera2")
        except ImportError as exc:
            raise CameraError(
                f"camera {self.name}: the picamera2 module is not installed ({exc}); on Raspberry Pi OS run "
                "`sudo apt install python3-picamera2` and create the venv with --system-site-packages "
                "(see docs/deploy-pi.md)"
            ) from exc

    def _read(self) -> Frame:
        request = self._picam.capture_request()
        try:
            rgb = request.make_array("main")  # a copy: the buffer goes back to the camera below
            metadata = dict(request.get_metadata())
        finally:
            request.release()
        return Frame(rgb, time.time(), metadata)

    def _read_preview(self) -> Frame:
        if self.config.lores_size is None:
            return self._read()
        import cv2

        width, height = self.config.lores_size
        request = self._picam.capture_request()
        try:
            planes = request.make_array("lores")  # (height * 3/2, stride): rows may be padded
            metadata = dict(request.get_metadata())
        finally:
            request.release()
        # OpenCV reads YUV as limited-range BT.601, the still configuration writes full range:
        # previews come out a little more contrasty than frames, and are only ever compared
        # with other previews.
        rgb = cv2.cvtColor(planes, cv2.COLOR_YUV2RGB_I420)[:height, :width]
        return Frame(np.ascontiguousarray(rgb), time.time(), metadata)

    def _lock_exposure(self) -> dict[str, Any]:
        fixed = self.config.fixed_controls
        if len(fixed) < len(LOCKED_CONTROLS):
            # Let AE/AWB converge, then keep what they found for the controls not given.
            self._picam.set_controls({"AeEnable": True, "AwbEnable": True})
            measured = self._metadata_after(self.config.settle_frames)
            missing = [c for c in LOCKED_CONTROLS if c not in fixed and c not in measured]
            if missing:
                raise CameraError(f"camera {self.name}: metadata lacks {', '.join(missing)}; cannot lock exposure")
            fixed = {c: fixed.get(c, measured[c]) for c in LOCKED_CONTROLS}
        controls = {"AeEnable": False, "AwbEnable": False, **fixed}
        self._picam.set_controls(controls)
        # Controls take effect a few frames later; drop those so the next read is locked.
        self._metadata_after(self.config.settle_frames)
        self._locked = {key: list(v) if isinstance(v, tuple) else v for key, v in controls.items()}
        return dict(self._locked)

    def _metadata_after(self, frames: int) -> dict[str, Any]:
        metadata: dict[str, Any] = {}
        for _ in range(frames):
            metadata = self._picam.capture_metadata()
        return metadata

    def _close(self) -> None:
        picam, self._picam = self._picam, None
        try:
            picam.stop()
        finally:
            picam.close()


@register_camera("picamera2")
def picamera2_camera_from_spec(argument: str, **_context: Any) -> PiCamera2Camera:
    """Factory for `picamera2` and `picamera2:key=value,...`."""
    return PiCamera2Camera(PiCamera2Config.from_spec(argument))
