"""A session's appearance: light, white balance, camera placement, sensor. Drawn once per brick."""
from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

Range = tuple[float, float]


@dataclass(frozen=True)
class Look:
    """Everything about a frame's appearance that stays fixed while one brick turns on the table.

    The defaults are the nominal rig (a pinkish light above, the camera where `CameraConfig`
    puts it); they lie inside `LookJitter`'s default ranges, so a model trained on jittered
    looks has seen the nominal one."""

    light_azimuth_deg: float = 220.0
    light_elevation_deg: float = 60.0
    light_gain: float = 0.8
    ambient: float = 0.3
    tint: tuple[float, float, float] = (0.95, 0.68, 0.88)  # linear RGB gain of light and white balance
    exposure: float = 1.1
    specular: float = 0.12
    table_albedo: float = 0.62
    camera_elevation_offset_deg: float = 0.0
    camera_azimuth_deg: float = 270.0  # camera sits at -y of the table centre
    camera_distance_scale: float = 1.0
    camera_target_mm: tuple[float, float] = (0.0, 0.0)
    texture_seed: int = 0
    noise_sigma: float = 2.5
    jpeg_quality: int = 90

    def light_direction(self) -> np.ndarray:
        """Unit vector from the table towards the light (world frame)."""
        az, el = np.radians(self.light_azimuth_deg), np.radians(self.light_elevation_deg)
        return np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])


@dataclass(frozen=True)
class LookJitter:
    """Ranges (low, high) that `random_look` draws a `Look`'s fields from, uniformly."""

    light_azimuth_deg: Range = (0.0, 360.0)
    light_elevation_deg: Range = (40.0, 80.0)
    light_gain: Range = (0.6, 1.0)
    ambient: Range = (0.2, 0.45)
    tint_red: Range = (0.85, 1.0)
    tint_green: Range = (0.5, 0.8)
    tint_blue: Range = (0.65, 1.05)
    exposure: Range = (0.95, 1.3)
    specular: Range = (0.0, 0.25)
    table_albedo: Range = (0.5, 0.72)
    camera_elevation_offset_deg: Range = (-8.0, 8.0)
    camera_azimuth_deg: Range = (250.0, 290.0)
    camera_distance_scale: Range = (0.85, 1.15)
    camera_target_mm: Range = (-6.0, 6.0)
    noise_sigma: Range = (1.5, 4.0)
    jpeg_quality: Range = (75.0, 95.0)

    def __post_init__(self) -> None:
        for f in fields(self):
            low, high = getattr(self, f.name)
            if not low <= high:
                raise ValueError(f"LookJitter.{f.name}: low {low} must not exceed high {high}")


def random_look(rng: np.random.Generator, jitter: LookJitter = LookJitter()) -> Look:
    """A look drawn from `jitter`'s ranges; the same generator state gives the same look."""

    def draw(r: Range) -> float:
        return float(rng.uniform(r[0], r[1]))

    return Look(
        light_azimuth_deg=draw(jitter.light_azimuth_deg),
        light_elevation_deg=draw(jitter.light_elevation_deg),
        light_gain=draw(jitter.light_gain),
        ambient=draw(jitter.ambient),
        tint=(draw(jitter.tint_red), draw(jitter.tint_green), draw(jitter.tint_blue)),
        exposure=draw(jitter.exposure),
        specular=draw(jitter.specular),
        table_albedo=draw(jitter.table_albedo),
        camera_elevation_offset_deg=draw(jitter.camera_elevation_offset_deg),
        camera_azimuth_deg=draw(jitter.camera_azimuth_deg),
        camera_distance_scale=draw(jitter.camera_distance_scale),
        camera_target_mm=(draw(jitter.camera_target_mm), draw(jitter.camera_target_mm)),
        texture_seed=int(rng.integers(0, 2**31 - 1)),
        noise_sigma=draw(jitter.noise_sigma),
        jpeg_quality=int(round(draw(jitter.jpeg_quality))),
    )
