"""The Picamera2 driver code against a stand-in `picamera2` module: controls, locking, channel order."""
from __future__ import annotations

import types

import numpy as np
import pytest

from device.cameras import CameraError
from device.cameras.picamera2_camera import PiCamera2Camera, PiCamera2Config

AUTO_METADATA = {"ExposureTime": 12345, "AnalogueGain": 2.5, "ColourGains": (1.9, 1.6), "Lux": 400.0}


class FakeRequest:
    def __init__(self, array: np.ndarray, metadata: dict) -> None:
        self.array, self.metadata, self.released = array, metadata, False

    def make_array(self, stream: str) -> np.ndarray:
        assert stream == "main"
        return self.array

    def get_metadata(self) -> dict:
        return dict(self.metadata)

    def release(self) -> None:
        self.released = True


# Memory order of each 24-bit format, as libcamera names them (by register order).
MEMORY_ORDER = {"RGB888": "BGR", "BGR888": "RGB"}


class FakePicamera2:
    """Lays pixels out as libcamera does for the configured format; metadata follows the controls."""

    instances: list["FakePicamera2"]

    def __init__(self, camera_num: int = 0) -> None:
        self.camera_num = camera_num
        self.calls: list[tuple] = []
        self.controls: dict = {}
        self.requests: list[FakeRequest] = []
        self.instances.append(self)

    def create_still_configuration(self, main: dict, **kwargs: object) -> dict:
        return {"main": main, **kwargs}

    def configure(self, configuration: dict) -> None:
        self.calls.append(("configure", configuration))

    def start(self) -> None:
        self.calls.append(("start",))

    def set_controls(self, controls: dict) -> None:
        self.calls.append(("set_controls", dict(controls)))
        self.controls.update(controls)

    def capture_metadata(self) -> dict:
        self.calls.append(("capture_metadata",))
        metadata = dict(AUTO_METADATA)
        metadata.update({k: v for k, v in self.controls.items() if k in AUTO_METADATA})
        return metadata

    def capture_request(self) -> FakeRequest:
        main = self.calls[0][1]["main"]
        width, height = main["size"]
        scene = {"R": 30, "G": 20, "B": 10}
        array = np.zeros((height, width, 3), np.uint8)
        for channel, name in enumerate(MEMORY_ORDER[main["format"]]):
            array[..., channel] = scene[name]
        request = FakeRequest(array, self.capture_metadata())
        self.requests.append(request)
        return request

    def stop(self) -> None:
        self.calls.append(("stop",))

    def close(self) -> None:
        self.calls.append(("close",))


@pytest.fixture
def fake_module() -> types.ModuleType:
    module = types.ModuleType("picamera2")
    module.Picamera2 = type("Picamera2", (FakePicamera2,), {"instances": []})
    return module


def control_calls(picam: FakePicamera2) -> list[dict]:
    return [call[1] for call in picam.calls if call[0] == "set_controls"]


def test_frames_arrive_in_rgb_order_straight_from_the_isp(fake_module: types.ModuleType) -> None:
    config = PiCamera2Config(size=(32, 24), camera_index=1)
    with PiCamera2Camera(config, module=fake_module) as camera:
        frame = camera.read()
    picam = fake_module.Picamera2.instances[0]
    assert picam.camera_num == 1
    assert picam.calls[0] == ("configure", {"main": {"size": (32, 24), "format": "BGR888"}, "buffer_count": 2})
    assert frame.image.shape == (24, 32, 3)
    assert tuple(frame.image[5, 5]) == (30, 20, 10)  # the scene's R, G, B
    assert frame.image is picam.requests[0].array  # no copy or swap of our own
    assert frame.image.flags.c_contiguous
    assert frame.metadata["Lux"] == 400.0
    assert all(request.released for request in picam.requests)
    assert picam.calls[-2:] == [("stop",), ("close",)]


def test_configured_controls_are_locked_with_auto_algorithms_off(fake_module: types.ModuleType) -> None:
    config = PiCamera2Config(exposure_us=8000, analogue_gain=1.5, colour_gains=(1.8, 1.4), settle_frames=2)
    with PiCamera2Camera(config, module=fake_module) as camera:
        locked = camera.lock_exposure()
        frame = camera.read()
    picam = fake_module.Picamera2.instances[0]
    assert control_calls(picam) == [
        {"AeEnable": False, "AwbEnable": False, "ExposureTime": 8000, "AnalogueGain": 1.5, "ColourGains": (1.8, 1.4)}
    ]
    assert locked == {"AeEnable": False, "AwbEnable": False, "ExposureTime": 8000, "AnalogueGain": 1.5, "ColourGains": [1.8, 1.4]}
    assert frame.metadata["ExposureTime"] == 8000


def test_missing_controls_are_measured_once_then_locked(fake_module: types.ModuleType) -> None:
    config = PiCamera2Config(exposure_us=9000, settle_frames=3)  # gain and colour gains measured
    with PiCamera2Camera(config, module=fake_module) as camera:
        locked = camera.lock_exposure()
    picam = fake_module.Picamera2.instances[0]
    first, second = control_calls(picam)
    assert first == {"AeEnable": True, "AwbEnable": True}
    assert second == {
        "AeEnable": False, "AwbEnable": False, "ExposureTime": 9000, "AnalogueGain": 2.5, "ColourGains": (1.9, 1.6)
    }
    assert locked["AnalogueGain"] == 2.5 and locked["ColourGains"] == [1.9, 1.6]
    # Frames are dropped while AE converges and again while the lock takes effect.
    assert sum(call == ("capture_metadata",) for call in picam.calls) == 6


def test_missing_picamera2_module_explains_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    def no_picamera2(name: str) -> None:
        raise ModuleNotFoundError(f"No module named {name!r}")

    monkeypatch.setattr(importlib, "import_module", no_picamera2)
    with pytest.raises(CameraError, match="apt install python3-picamera2"):
        PiCamera2Camera(PiCamera2Config()).open()


def test_camera_that_will_not_open_is_named(fake_module: types.ModuleType) -> None:
    def no_camera(camera_num: int = 0) -> None:
        raise IndexError("list index out of range")

    fake_module.Picamera2 = no_camera
    with pytest.raises(CameraError, match="picamera2 could not open camera 2"):
        PiCamera2Camera(PiCamera2Config(camera_index=2), module=fake_module).open()
