"""Putting a part's mesh down on the table in one of its stable poses."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from device.sim.mesh import Mesh
from device.sim.parts import Pose


@dataclass(frozen=True)
class PosedMesh:
    """A mesh resting on the table plane (z=0), its footprint centred on the origin."""

    mesh: Mesh
    vertices: np.ndarray  # (V, 3)
    normals: np.ndarray  # (F, 3)
    centroids: np.ndarray  # (F, 3)
    group_center: np.ndarray  # (F, 3)


def rotation_z(angle_deg: float) -> np.ndarray:
    """Rotation about the vertical axis (counter-clockwise seen from above)."""
    a = np.radians(angle_deg)
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def rotation_to_down(normal: tuple[float, float, float]) -> np.ndarray:
    """Rotation turning the local face normal `normal` to point straight down (-z)."""
    a = np.asarray(normal, dtype=np.float64)
    a /= np.linalg.norm(a)
    b = np.array([0.0, 0.0, -1.0])
    axis = np.cross(a, b)
    sin, cos = np.linalg.norm(axis), float(a @ b)
    if sin < 1e-9:
        # Already down, or straight up: a half turn about x flips it.
        return np.eye(3) if cos > 0 else np.diag([1.0, -1.0, -1.0])
    k = axis / sin
    skew = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    return np.eye(3) + sin * skew + (1 - cos) * skew @ skew


def rest_on_table(mesh: Mesh, pose: Pose) -> PosedMesh:
    """`mesh` turned so `pose.down` faces the table, lowest point on z=0, footprint centred."""
    rotation = rotation_to_down(pose.down)
    vertices = mesh.vertices @ rotation.T
    low, high = vertices.min(axis=0), vertices.max(axis=0)
    shift = np.array([-(low[0] + high[0]) / 2, -(low[1] + high[1]) / 2, -low[2]])
    return PosedMesh(
        mesh=mesh,
        vertices=vertices + shift,
        normals=mesh.normals @ rotation.T,
        centroids=mesh.centroids @ rotation.T + shift,
        group_center=mesh.group_center @ rotation.T + shift,
    )
