"""The rig's camera: a pinhole looking down at the turntable from an angle."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from device.sim.look import Look


# Side of the square frames the twin's camera delivers (and `bricksort synth` renders by
# default). The real rig's camera gives 1280x960; at 300x300 a 1x2 brick spans ~50 pixels and
# a Technic hole ~5. At one reject threshold the demo's recipe sorted 88.6% of fresh simulated
# bricks right at 300x300 and 91.6% at 600x600 (docs/sorting.md, "Camera resolution").
RIG_FRAME_SIDE = 600


@dataclass(frozen=True)
class CameraConfig:
    """Nominal camera placement; a `Look` adds its per-session offsets to it."""

    elevation_deg: float = 48.0  # angle between the table plane and the line of sight
    distance_mm: float = 320.0  # from the lens to the point it aims at
    focal_length: float = 3.6  # focal length in units of the image's shorter side
    table_radius_mm: float = 75.0

    def __post_init__(self) -> None:
        if not 15.0 <= self.elevation_deg <= 90.0:
            raise ValueError(f"CameraConfig.elevation_deg must be in [15, 90], got {self.elevation_deg}")
        if self.distance_mm <= 50.0:
            raise ValueError(f"CameraConfig.distance_mm must exceed 50 mm, got {self.distance_mm}")
        if self.focal_length <= 0.0:
            raise ValueError(f"CameraConfig.focal_length must be positive, got {self.focal_length}")
        if self.table_radius_mm <= 0.0:
            raise ValueError(f"CameraConfig.table_radius_mm must be positive, got {self.table_radius_mm}")


@dataclass(frozen=True)
class PinholeCamera:
    """World (mm, z up, table centre at the origin) to pixel projection."""

    rotation: np.ndarray  # (3, 3) rows: camera right, down, forward in world coordinates
    position: np.ndarray  # (3,) lens centre in world coordinates
    focal_px: float
    center_px: tuple[float, float]

    @classmethod
    def from_config(cls, config: CameraConfig, look: Look, size_hw: tuple[int, int]) -> "PinholeCamera":
        """The camera of one session: the config's placement moved by the look's offsets."""
        elevation = np.radians(np.clip(config.elevation_deg + look.camera_elevation_offset_deg, 15.0, 89.0))
        azimuth = np.radians(look.camera_azimuth_deg)
        distance = config.distance_mm * look.camera_distance_scale
        target = np.array([*look.camera_target_mm, 0.0])
        offset = np.array([np.cos(elevation) * np.cos(azimuth), np.cos(elevation) * np.sin(azimuth), np.sin(elevation)])
        position = target + distance * offset
        forward = -offset
        right = np.cross(forward, (0.0, 0.0, 1.0))
        right /= np.linalg.norm(right)
        down = np.cross(forward, right)
        height, width = size_hw
        return cls(
            rotation=np.stack([right, down, forward]),
            position=position,
            focal_px=config.focal_length * min(height, width),
            center_px=(width / 2.0, height / 2.0),
        )

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        """World points (N, 3) in camera coordinates (x right, y down, z forward)."""
        return (points - self.position) @ self.rotation.T

    def project(self, points: np.ndarray) -> np.ndarray:
        """World points (N, 3) to pixel coordinates (N, 2)."""
        cam = self.to_camera(points)
        return self.focal_px * cam[:, :2] / cam[:, 2:3] + np.asarray(self.center_px)

    def table_points(self, size_hw: tuple[int, int]) -> np.ndarray:
        """World (x, y) on the table plane z=0 seen by every pixel centre, shape (H, W, 2)."""
        height, width = size_hw
        u, v = np.meshgrid(np.arange(width, dtype=np.float32) + 0.5, np.arange(height, dtype=np.float32) + 0.5)
        x = (u - np.float32(self.center_px[0])) / np.float32(self.focal_px)
        y = (v - np.float32(self.center_px[1])) / np.float32(self.focal_px)
        # Camera to world (R^T on each ray (x, y, 1)) written out: a (H*W, 3) @ (3, 3) matmul
        # goes through BLAS, whose threads cost more than the arithmetic at this size.
        r = self.rotation.astype(np.float32)
        world_rays = [x * r[0, j] + y * r[1, j] + r[2, j] for j in range(3)]
        position = self.position.astype(np.float32)
        t = -position[2] / np.minimum(world_rays[2], np.float32(-1e-6))
        return np.stack([position[0] + t * world_rays[0], position[1] + t * world_rays[1]], axis=-1)
