"""The empty rig as the camera sees it: a pale turntable disc on a dark surround."""
from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from device.sim.camera import PinholeCamera
from device.sim.colors import linear_to_srgb_u8
from device.sim.look import Look

SURROUND_ALBEDO = 0.03
DISC_EDGE_MM = 0.6  # width of the anti-aliased rim of the disc


def _smooth_field(rng: np.random.Generator, size_hw: tuple[int, int], cells: int, amplitude: float) -> np.ndarray:
    """Low-frequency multiplicative texture around 1 (uneven paint, dust, light falloff)."""
    coarse = rng.normal(0.0, amplitude, (cells, cells)).astype(np.float32)
    return 1.0 + cv2.resize(coarse, (size_hw[1], size_hw[0]), interpolation=cv2.INTER_CUBIC)


@lru_cache(maxsize=4)
def _falloff(height: int, width: int) -> np.ndarray:
    """Light falling off towards the frame's corners (lens vignetting and a lamp's cone), (H, W, 1);
    the same for every look, so computed once per frame size."""
    v, u = np.mgrid[0:height, 0:width].astype(np.float32)
    rho2 = ((u - width / 2) ** 2 + (v - height / 2) ** 2) / np.float32((width**2 + height**2) / 4)
    falloff = (1.0 - 0.22 * rho2)[..., None]
    falloff.flags.writeable = False  # shared by every call
    return falloff


def render_background(camera: PinholeCamera, look: Look, size_hw: tuple[int, int], table_radius_mm: float) -> np.ndarray:
    """BGR uint8 frame of the empty table under `look`; deterministic in `look.texture_seed`."""
    rng = np.random.default_rng(look.texture_seed)
    table = camera.table_points(size_hw)
    radius = np.hypot(table[..., 0], table[..., 1])
    on_disc = np.clip((table_radius_mm - radius) / DISC_EDGE_MM + 0.5, 0.0, 1.0).astype(np.float32)[..., None]
    irradiance = look.ambient + look.light_gain * max(0.0, float(look.light_direction()[2]))
    texture = (_smooth_field(rng, size_hw, 6, 0.04) * _smooth_field(rng, size_hw, 40, 0.012))[..., None]
    albedo = on_disc * look.table_albedo + (1.0 - on_disc) * SURROUND_ALBEDO
    # The tint's channels reversed make the frame BGR as it is computed, with no copy to reorder it.
    bgr_tint = np.asarray(look.tint, dtype=np.float32)[::-1]
    linear = albedo * (irradiance * look.exposure) * _falloff(*size_hw) * texture * bgr_tint
    return linear_to_srgb_u8(linear)
