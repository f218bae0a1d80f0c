"""The Picamera2 driver code against a stand-in `picamera2` module: controls, locking, channel order."""
from __future__ import annotations

import types

import numpy as np
import pytest

from device.cameras import CameraError
from device.cameras.picamera2_camera import PiCamera2Camera, PiCamera2Config

AUTO_METADATA = {"ExposureTime": 12345, "AnalogueGain": 2.5, "ColourGains": (1.9, 1.6), "Lux": 400.0}


class FakeRequest:
    def __init__(self, array: np.ndarray, metadata: dict, lores: np.ndarray | None = None) -> None:
        self.array, self.metadata, self.lores, self.released = array, metadata, lores, False

    def make_array(self, stream: str) -> np.ndarray:
        return {"main": self.array, "lores": self.lores}[stream]

    def get_metadata(self) -> dict:
        return dict(self.metadata)

    def release(self) -> None:
        self.released = True


# Memory order of each 24-bit format, as libcamera names them (by register order).
MEMORY_ORDER = {"RGB888": "BGR", "BGR888": "RGB"}
SCENE = {"R": 30, "G": 20, "B": 10}


def padded_i420(rgb: np.ndarray, stride: int) -> np.ndarray:
    """`rgb` as the ISP lays out a YUV420 stream: Y, then U, then V planes, each row padded
    to `stride` bytes (chroma rows to stride / 2), read as (height * 3/2, stride)."""
    import cv2

    height, width = rgb.shape[:2]
    flat = cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420).reshape(-1)
    luma = flat[: height * width].reshape(height, width)
    chroma = [flat[height * width + i * height * width // 4 :][: height * width // 4].reshape(height // 2, width // 2) for i in (0, 1)]
    planes = [np.pad(luma, ((0, 0), (0, stride - width)))]
    planes += [np.pad(plane, ((0, 0), (0, stride // 2 - width // 2))).reshape(height // 4, stride) for plane in chroma]
    return np.concatenate(planes)


class FakePicamera2:
    """Lays pixels out as libcamera does for the configured format; metadata follows the controls."""

    instances: list["FakePicamera2"]

    def __init__(self, camera_num: int = 0) -> None:
        self.camera_num = camera_num
        self.calls: list[tuple] = []
        self.controls: dict = {}
        self.requests: list[FakeRequest] = []
        self.instances.append(self)

    def create_still_configuration(self, main: dict, lores: dict | None = None, **kwargs: object) -> dict:
        return {"main": main, **({"lores": lores} if lores else {}), **kwargs}

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
        configuration = self.calls[0][1]
        main = configuration["main"]
        width, height = main["size"]
        array = np.zeros((height, width, 3), np.uint8)
        for channel, name in enumerate(MEMORY_ORDER[main["format"]]):
            array[..., channel] = SCENE[name]
        lores = None
        if "lores" in configuration:
            assert configuration["lores"]["format"] == "YUV420"
            small_width, small_height = configuration["lores"]["size"]
            scene = np.empty((small_height, small_width, 3), np.uint8)
            scene[:] = (SCENE["R"], SCENE["G"], SCENE["B"])
            lores = padded_i420(scene, stride=-(-small_width // 64) * 64)  # rows padded to 64 bytes, as reported on Pis
        request = FakeRequest(array, self.capture_metadata(), lores)
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
    assert picam.calls[0] == (
        "configure",
        # The preview stream at its default 320x240, no larger than the frame.
        {"main": {"size": (32, 24), "format": "BGR888"}, "lores": {"size": (32, 24), "format": "YUV420"}, "buffer_count": 2},
    )
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


def test_previews_come_from_the_isp_s_small_yuv_stream_as_rgb(fake_module: types.ModuleType) -> None:
    config = PiCamera2Config(size=(64, 48), preview_size=(20, 12))
    with PiCamera2Camera(config, module=fake_module) as camera:
        preview = camera.read_preview()
        frame = camera.read()
    picam = fake_module.Picamera2.instances[0]
    assert picam.calls[0][1]["lores"] == {"size": (20, 12), "format": "YUV420"}
    assert preview.image.shape == (12, 20, 3) and frame.image.shape == (48, 64, 3)
    assert preview.image.flags.c_contiguous
    # Rows came padded to 64 bytes; the colour survives the YUV round trip.
    assert np.abs(preview.image.astype(int) - (30, 20, 10)).max() <= 2
    assert preview.metadata["Lux"] == 400.0
    assert all(request.released for request in picam.requests)


def test_without_a_preview_stream_previews_are_full_frames(fake_module: types.ModuleType) -> None:
    config = PiCamera2Config.from_spec("preview=off,size=32x24")
    assert config.preview_size is None
    with PiCamera2Camera(config, module=fake_module) as camera:
        preview = camera.read_preview()
    picam = fake_module.Picamera2.instances[0]
    assert "lores" not in picam.calls[0][1]
    assert preview.image.shape == (24, 32, 3)


def test_preview_sizes_are_parsed_and_checked() -> None:
    from device.cameras import CameraSpecError

    assert PiCamera2Config.from_spec("preview=160x120").preview_size == (160, 120)
    assert PiCamera2Config.from_spec("size=200x100").lores_size == (200, 100)  # the default, no larger than the frame
    with pytest.raises(CameraSpecError, match="preview size must be two even numbers"):
        PiCamera2Config.from_spec("preview=161x120")
    with pytest.raises(CameraSpecError, match="preview='big' is not valid: expected WIDTHxHEIGHT or off"):
        PiCamera2Config.from_spec("preview=big")
