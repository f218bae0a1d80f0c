"""Spec strings: parsing, the kinds registry, and the seam for cameras defined elsewhere."""
from __future__ import annotations

import numpy as np
import pytest

from device.cameras import Camera, CameraSpecError, Frame, camera_kinds, make_camera, register_camera
from device.cameras.picamera2_camera import PiCamera2Camera, PiCamera2Config
from device.cameras.registry import _FACTORIES


def test_built_in_kinds_are_registered() -> None:
    assert {"picamera2", "opencv", "folder"} <= set(camera_kinds())


def test_unknown_kind_lists_the_known_ones() -> None:
    with pytest.raises(CameraSpecError, match=r"unknown camera kind 'webcam'.*known kinds: .*folder.*opencv.*picamera2"):
        make_camera("webcam:0")


@pytest.mark.parametrize("spec", ["", "   ", "opencv", "opencv:", "folder"])
def test_incomplete_specs_are_refused(spec: str) -> None:
    with pytest.raises(CameraSpecError):
        make_camera(spec)


def test_picamera2_spec_options_fill_the_config() -> None:
    camera = make_camera("picamera2:exposure=8000,gain=1.5,colour_gains=1.8/1.4,size=640x480,index=1,settle=3")
    assert isinstance(camera, PiCamera2Camera)
    assert camera.config == PiCamera2Config(
        camera_index=1, size=(640, 480), exposure_us=8000, analogue_gain=1.5, colour_gains=(1.8, 1.4), settle_frames=3
    )
    assert make_camera("picamera2").config == PiCamera2Config()


@pytest.mark.parametrize(
    "spec, message",
    [
        ("picamera2:shutter=100", "unknown picamera2 option 'shutter'"),
        ("picamera2:exposure", "must look like key=value"),
        ("picamera2:exposure=fast", "exposure='fast' is not valid"),
        ("picamera2:exposure=-5", "exposure must be > 0"),
        ("picamera2:gain=0.5", "analogue gain must be >= 1.0"),
        ("picamera2:colour_gains=1.8", "colour_gains='1.8' is not valid"),
        ("picamera2:size=640", "size='640' is not valid"),
        ("picamera2:gain=2,gain=3", "given twice"),
    ],
)
def test_bad_picamera2_options_get_specific_errors(spec: str, message: str) -> None:
    with pytest.raises(CameraSpecError, match=message):
        make_camera(spec)


class _ConstantCamera(Camera):
    """A camera kind registered from outside the package, as the simulated camera is."""

    def __init__(self, world: dict) -> None:
        super().__init__()
        self.world = world

    def _open(self) -> None: ...

    def _read(self) -> Frame:
        return Frame(np.full((4, 4, 3), self.world["grey"], np.uint8), 0.0)

    def _lock_exposure(self) -> dict:
        return {"world": True}

    def _close(self) -> None: ...


def test_context_reaches_a_kind_registered_elsewhere() -> None:
    @register_camera("test_world")
    def _factory(argument: str, *, world: dict, **_context: object) -> Camera:
        return _ConstantCamera(world)

    try:
        with make_camera("test_world", world={"grey": 7}) as camera:
            assert camera.read().image[0, 0, 0] == 7
        # Context a kind does not use is ignored, so callers can pass it whatever the spec.
        assert make_camera("picamera2", world={"grey": 7}).config == PiCamera2Config()
        with pytest.raises(ValueError, match="already registered"):
            register_camera("test_world")(lambda argument, **context: _ConstantCamera({}))
    finally:
        del _FACTORIES["test_world"]


def test_frame_refuses_images_that_are_not_rgb_uint8() -> None:
    with pytest.raises(ValueError, match="HxWx3 uint8"):
        Frame(np.zeros((4, 4), np.uint8), 0.0)
    with pytest.raises(ValueError, match="HxWx3 uint8"):
        Frame(np.zeros((4, 4, 3), np.float32), 0.0)
