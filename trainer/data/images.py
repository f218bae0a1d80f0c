"""Decoding image files for training: every file becomes HxWx3 uint8 RGB, or a clear error.

OpenCV decodes a truncated JPEG without complaint (the missing rows come out grey), so
decoding goes through Pillow, whose `load()` fails on truncated data, plus an explicit
check for the JPEG end-of-image marker.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

_JPEG_SCAN_START = b"\xff\xda"
_JPEG_END = b"\xff\xd9"
# Modes Pillow gives for colour data that needs converting; "RGB" needs nothing.
_GRAYSCALE_MODES = {"1", "L", "I", "I;16", "I;16B", "I;16L", "F"}
_ALPHA_MODES = {"RGBA", "LA", "PA", "RGBa", "La"}


class UnreadableImageError(ValueError):
    """A file that cannot be used as an image; `reason` is one of REASONS."""

    REASONS = ("zero-byte", "truncated", "not-an-image", "corrupt")

    def __init__(self, path: Path | str, reason: str, detail: str) -> None:
        super().__init__(f"{path}: {reason} image file ({detail})")
        self.path = Path(path)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class ImageInfo:
    """What decoding found out about one file, before conversion to RGB."""

    width: int
    height: int
    format: str  # "JPEG", "PNG", ...
    mode: str  # Pillow mode as stored: "RGB", "L", "RGBA", "CMYK", "P", ...

    @property
    def conversion(self) -> str | None:
        """How the pixels were converted to RGB ("grayscale", "alpha", "cmyk", "palette"), or None."""
        if self.mode in _GRAYSCALE_MODES:
            return "grayscale"
        if self.mode in _ALPHA_MODES:
            return "alpha"
        if self.mode == "CMYK":
            return "cmyk"
        if self.mode == "P":
            return "palette"
        if self.mode != "RGB":
            return self.mode.lower()
        return None


def _jpeg_is_truncated(data: bytes) -> bool:
    # An EXIF thumbnail carries its own end marker, so look for one after the last scan.
    last_scan = data.rfind(_JPEG_SCAN_START)
    return last_scan < 0 or data.find(_JPEG_END, last_scan) < 0


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image
    if image.mode in _ALPHA_MODES or (image.mode == "P" and "transparency" in image.info):
        # Composite on white, the backdrop cut-out part photos use, rather than dropping alpha
        # (which exposes whatever colour the transparent pixels happen to hold).
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    if image.mode in {"I", "I;16", "I;16B", "I;16L", "F"}:
        # 16-bit and float grey: scale to 8 bits instead of clipping at 255.
        values = np.asarray(image, dtype=np.float64)
        top = values.max() if values.size and values.max() > 0 else 1.0
        grey = np.clip(values * (255.0 / top), 0, 255).astype(np.uint8)
        return Image.fromarray(grey, "L").convert("RGB")
    return image.convert("RGB")


def decode_image(path: Path | str) -> tuple[np.ndarray, ImageInfo]:
    """Decode `path` to HxWx3 uint8 RGB (EXIF orientation applied, as cv2.imread does) and
    describe the stored file. Raises UnreadableImageError naming the file and why."""
    path = Path(path)
    data = path.read_bytes()
    if not data:
        raise UnreadableImageError(path, "zero-byte", "the file is empty")
    try:
        image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise UnreadableImageError(path, "not-an-image", "no known image format") from None
    except Exception as exc:  # Pillow raises many types on hostile headers
        raise UnreadableImageError(path, "corrupt", f"header unreadable: {exc}") from None
    info = ImageInfo(width=image.width, height=image.height, format=image.format or "?", mode=image.mode)
    if info.format == "JPEG" and _jpeg_is_truncated(data):
        raise UnreadableImageError(path, "truncated", "JPEG data ends before its end-of-image marker")
    try:
        image.load()
    except OSError as exc:
        reason = "truncated" if "truncated" in str(exc) else "corrupt"
        raise UnreadableImageError(path, reason, str(exc)) from None
    except Exception as exc:
        raise UnreadableImageError(path, "corrupt", str(exc)) from None
    ImageOps.exif_transpose(image, in_place=True)  # in place: no copy of an upright image (~0.25 ms)
    rgb = _to_rgb(image)
    array = np.asarray(rgb, dtype=np.uint8)
    return np.ascontiguousarray(array), info


def read_image_rgb(path: Path | str) -> np.ndarray:
    """HxWx3 uint8 RGB pixels of an image file; grayscale, alpha, palette and CMYK are converted.
    Raises UnreadableImageError (a ValueError) for zero-byte, truncated or non-image files."""
    return decode_image(path)[0]
