"""A palette of real LEGO colours (sRGB as the LEGO colour charts list them)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LegoColor:
    """A named LEGO colour and its sRGB value."""

    name: str
    rgb: tuple[int, int, int]

    def linear(self) -> np.ndarray:
        """The colour in linear light (0..1), for shading."""
        return srgb_to_linear(np.asarray(self.rgb, dtype=np.float64) / 255.0)


PALETTE: tuple[LegoColor, ...] = (
    LegoColor("White", (242, 243, 242)),
    LegoColor("Light Bluish Gray", (160, 165, 169)),
    LegoColor("Dark Bluish Gray", (108, 110, 104)),
    LegoColor("Black", (27, 42, 52)),
    LegoColor("Red", (201, 26, 9)),
    LegoColor("Dark Red", (114, 14, 15)),
    LegoColor("Blue", (0, 85, 191)),
    LegoColor("Dark Blue", (10, 52, 99)),
    LegoColor("Medium Azure", (54, 174, 191)),
    LegoColor("Yellow", (242, 205, 55)),
    LegoColor("Orange", (254, 138, 24)),
    LegoColor("Green", (35, 120, 65)),
    LegoColor("Bright Green", (75, 159, 74)),
    LegoColor("Lime", (187, 233, 11)),
    LegoColor("Tan", (228, 205, 158)),
    LegoColor("Dark Tan", (149, 138, 115)),
    LegoColor("Reddish Brown", (88, 42, 18)),
    LegoColor("Bright Pink", (228, 173, 200)),
    LegoColor("Medium Blue", (90, 147, 219)),
    LegoColor("Dark Orange", (169, 85, 0)),
)


def color_by_name(name: str) -> LegoColor:
    """The palette colour called `name` (case-insensitive); ValueError lists the names otherwise."""
    for color in PALETTE:
        if color.name.lower() == name.lower():
            return color
    raise ValueError(f"unknown LEGO colour {name!r}; known: {', '.join(c.name for c in PALETTE)}")


def srgb_to_linear(values: np.ndarray) -> np.ndarray:
    """sRGB (0..1) to linear light."""
    return np.where(values <= 0.04045, values / 12.92, ((values + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(values: np.ndarray) -> np.ndarray:
    """Linear light to sRGB (0..1), clipped."""
    values = np.clip(values, 0.0, 1.0)
    return np.where(values <= 0.0031308, values * 12.92, 1.055 * values ** (1 / 2.4) - 0.055)


_SRGB_LUT_SIZE = 4096
_SRGB_LUT = np.round(linear_to_srgb(np.linspace(0.0, 1.0, _SRGB_LUT_SIZE)) * 255.0).astype(np.uint8)


def linear_to_srgb_u8(values: np.ndarray) -> np.ndarray:
    """Linear light to 8-bit sRGB through a lookup table (fast for whole frames)."""
    scaled = values * (_SRGB_LUT_SIZE - 1)
    scaled += 0.5  # in place: a frame-sized temporary fewer
    np.clip(scaled, 0, _SRGB_LUT_SIZE - 1, out=scaled)
    return _SRGB_LUT.take(scaled.astype(np.int32))  # take: several times faster than fancy indexing
