"""OpenCV and folder cameras on real files: decoding, RGB order, end of stream, errors naming what was tried."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from device.cameras import CameraError, CameraNotOpenError, EndOfStream, make_camera
from device.cameras.folder_camera import FolderCamera, FolderCameraConfig
from device.cameras.opencv_camera import OpenCVCamera, OpenCVCameraConfig

# Saturated primaries survive JPEG/MJPG well enough to tell channels apart.
RED_RGB = (220, 30, 30)
BLUE_RGB = (30, 30, 220)


def solid_bgr(rgb: tuple[int, int, int], size: tuple[int, int] = (48, 64)) -> np.ndarray:
    frame = np.zeros((*size, 3), np.uint8)
    frame[:] = rgb[::-1]
    return frame


@pytest.fixture
def video_file(tmp_path: Path) -> Path:
    """A 5-frame MJPG .avi: frames 0-2 red, 3-4 blue."""
    path = tmp_path / "table.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (64, 48))
    assert writer.isOpened()
    for rgb in [RED_RGB] * 3 + [BLUE_RGB] * 2:
        writer.write(solid_bgr(rgb))
    writer.release()
    return path


def assert_close(pixel: np.ndarray, rgb: tuple[int, int, int]) -> None:
    assert np.abs(pixel.astype(int) - np.array(rgb)).max() < 25, (pixel, rgb)


def test_opencv_camera_reads_a_video_file_as_rgb_then_ends(video_file: Path) -> None:
    with make_camera(f"opencv:{video_file}") as camera:
        assert isinstance(camera, OpenCVCamera)
        assert not camera.is_live  # a recording: no buffered frames to drop
        frames = list(camera)  # iteration stops at EndOfStream
        with pytest.raises(EndOfStream, match="end of video file"):
            camera.read()
    assert len(frames) == 5
    assert frames[0].image.shape == (48, 64, 3) and frames[0].image.dtype == np.uint8
    assert_close(frames[0].image[24, 32], RED_RGB)
    assert_close(frames[4].image[24, 32], BLUE_RGB)
    assert [f.metadata["frame_index"] for f in frames] == [0, 1, 2, 3, 4]
    assert frames[0].timestamp <= frames[4].timestamp
    assert not camera.is_open


def test_video_file_has_no_exposure_controls_to_lock(video_file: Path) -> None:
    with make_camera(f"opencv:{video_file}") as camera:
        assert camera.lock_exposure() == {}


def test_opencv_spec_with_digits_means_a_device_index() -> None:
    camera = make_camera("opencv:3")
    assert camera.config == OpenCVCameraConfig(3)
    assert camera.is_live


def test_opencv_device_that_cannot_open_says_which_index(tmp_path: Path) -> None:
    # Index 97 does not exist on a test machine; the message names what was tried.
    with pytest.raises(CameraError, match=r"could not open camera device index 97"):
        make_camera("opencv:97").open()


def test_opencv_missing_video_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.mp4"
    with pytest.raises(CameraError, match="no such video file.*nope.mp4"):
        make_camera(f"opencv:{missing}").open()


def test_opencv_file_that_is_not_a_video_is_named(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all" * 10)
    with pytest.raises(CameraError, match="could not open video file.*junk.mp4"):
        OpenCVCamera(OpenCVCameraConfig(junk)).open()


def write_images(folder: Path, colours: dict[str, tuple[int, int, int]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, rgb in colours.items():
        assert cv2.imwrite(str(folder / name), solid_bgr(rgb))


def test_folder_camera_replays_images_in_sorted_order_as_rgb(tmp_path: Path) -> None:
    write_images(tmp_path, {"b.png": BLUE_RGB, "a.png": RED_RGB, "c.jpg": RED_RGB})
    (tmp_path / "notes.txt").write_text("not an image")
    with make_camera(f"folder:{tmp_path}") as camera:
        assert isinstance(camera, FolderCamera) and not camera.is_live
        frames = list(camera)
    assert [Path(f.metadata["file"]).name for f in frames] == ["a.png", "b.png", "c.jpg"]
    assert tuple(frames[0].image[0, 0]) == RED_RGB  # png is lossless: exact
    assert tuple(frames[1].image[0, 0]) == BLUE_RGB


def test_folder_camera_names_an_unreadable_file_and_moves_past_it(tmp_path: Path) -> None:
    write_images(tmp_path, {"0.png": RED_RGB, "2.png": BLUE_RGB})
    (tmp_path / "1.jpg").write_bytes(b"\xff\xd8 truncated jpeg")
    with make_camera(f"folder:{tmp_path}") as camera:
        assert camera.read().metadata["file"].endswith("0.png")
        with pytest.raises(CameraError, match=r"cannot decode image file .*1\.jpg"):
            camera.read()
        assert camera.read().metadata["file"].endswith("2.png")
        with pytest.raises(EndOfStream, match="all 3 images replayed"):
            camera.read()


def test_folder_camera_errors_name_the_folder(tmp_path: Path) -> None:
    with pytest.raises(CameraError, match="is not a folder"):
        make_camera(f"folder:{tmp_path / 'missing'}").open()
    with pytest.raises(CameraError, match="no image files"):
        FolderCamera(FolderCameraConfig(tmp_path)).open()


def test_reading_before_open_is_refused_for_every_kind(tmp_path: Path, video_file: Path) -> None:
    for spec in (f"folder:{tmp_path}", f"opencv:{video_file}", "picamera2"):
        camera = make_camera(spec)
        with pytest.raises(CameraNotOpenError, match="call open\\(\\) first"):
            camera.read()
        with pytest.raises(CameraNotOpenError):
            camera.lock_exposure()
