"""Image decoding for training: every file is RGB uint8 or a clear UnreadableImageError."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from tiny_brick_photos import brick_photo, write_rgb
from trainer.data.images import UnreadableImageError, decode_image, read_image_rgb


@pytest.fixture
def photo() -> np.ndarray:
    return brick_photo("wide", (200, 30, 30), (48, 48))


def test_jpeg_decodes_to_rgb_not_bgr(tmp_path, photo):
    path = write_rgb(tmp_path / "red.jpg", photo)
    rgb = read_image_rgb(path)
    assert rgb.shape == (96, 96, 3) and rgb.dtype == np.uint8
    red, _, blue = rgb[48, 48].astype(int)
    assert red > 150 and blue < 80


def test_a_photo_with_an_exif_rotation_decodes_upright_as_cv2_imread_gives_it(tmp_path):
    pixels = np.zeros((20, 40, 3), np.uint8)
    pixels[:, :20] = (250, 250, 250)  # stored: left half white
    exif = Image.Exif()
    exif[0x0112] = 6  # camera turned: show it turned 90 degrees clockwise
    path = tmp_path / "turned.png"
    Image.fromarray(pixels).save(path, exif=exif)
    rgb = read_image_rgb(path)
    assert rgb.shape == (40, 20, 3)  # upright: taller than wide
    assert rgb[:20].min() > 200 and rgb[20:].max() < 50  # the white half now on top
    np.testing.assert_array_equal(rgb, cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB))


def test_grayscale_png_is_converted_and_noted(tmp_path, photo):
    path = tmp_path / "grey.png"
    cv2.imwrite(str(path), cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY))
    rgb, info = decode_image(path)
    assert rgb.shape == (96, 96, 3)
    assert np.array_equal(rgb[..., 0], rgb[..., 2])
    assert info.conversion == "grayscale"


def test_alpha_png_is_composited_on_white(tmp_path):
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[2:6, 2:6] = (0, 0, 255, 255)  # opaque blue square, fully transparent black around it
    path = tmp_path / "cutout.png"
    Image.fromarray(rgba, "RGBA").save(path)
    rgb, info = decode_image(path)
    assert info.conversion == "alpha"
    assert tuple(rgb[0, 0]) == (255, 255, 255)
    assert tuple(rgb[3, 3]) == (0, 0, 255)


def test_cmyk_jpeg_is_converted(tmp_path, photo):
    path = tmp_path / "print.jpg"
    Image.fromarray(photo).convert("CMYK").save(path, "JPEG")
    rgb, info = decode_image(path)
    assert info.mode == "CMYK" and info.conversion == "cmyk"
    assert rgb.shape == (96, 96, 3)
    assert rgb[48, 48, 0] > 150


def test_zero_byte_file_is_rejected_by_name(tmp_path):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    with pytest.raises(UnreadableImageError, match="empty.jpg: zero-byte") as caught:
        read_image_rgb(path)
    assert caught.value.reason == "zero-byte"


def test_text_file_named_jpg_is_not_an_image(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("this is not a photo\n")
    with pytest.raises(UnreadableImageError) as caught:
        read_image_rgb(path)
    assert caught.value.reason == "not-an-image"
    assert "notes.jpg" in str(caught.value)


@pytest.mark.parametrize("dropped", ["half", "end-marker-only"])
def test_truncated_jpeg_is_rejected_though_cv2_would_decode_it(tmp_path, photo, dropped):
    whole = write_rgb(tmp_path / "whole.jpg", photo).read_bytes()
    path = tmp_path / "cut.jpg"
    path.write_bytes(whole[: len(whole) // 2] if dropped == "half" else whole[:-2])
    assert cv2.imread(str(path)) is not None  # OpenCV fills the gap with grey, silently
    with pytest.raises(UnreadableImageError) as caught:
        read_image_rgb(path)
    assert caught.value.reason == "truncated"


def test_truncated_png_is_rejected(tmp_path, photo):
    whole = write_rgb(tmp_path / "whole.png", photo).read_bytes()
    path = tmp_path / "cut.png"
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(UnreadableImageError) as caught:
        read_image_rgb(path)
    assert caught.value.reason in ("truncated", "corrupt")


def test_unreadable_image_error_is_a_value_error():
    assert issubclass(UnreadableImageError, ValueError)
