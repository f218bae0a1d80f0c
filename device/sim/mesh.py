"""A part's mesh: convex planar faces arranged in a draw hierarchy for a painter's renderer.

Every part body is convex, so its visible faces never overlap and need no ordering among
themselves. Details (studs, holes, the hollow underside) are *children* of the body face they
sit on: when that face is visible they are drawn after it, level by level; when it faces away
they are drawn before the body, so only the parts peeking past its silhouette survive.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

BODY = -1  # parent index of a body face


@dataclass(frozen=True)
class Mesh:
    """Vertices and faces of one part in its local frame (millimetres, z up, resting upright).

    Faces are stored as an index array padded with -1 (`faces`) plus per-face attributes, so the
    renderer can transform, cull and shade every face with a few vectorised numpy operations."""

    vertices: np.ndarray  # (V, 3) float64
    faces: np.ndarray  # (F, K) int32 vertex indices, -1 padded
    face_sizes: np.ndarray  # (F,) int32 number of vertices per face
    normals: np.ndarray  # (F, 3) outward unit normals
    centroids: np.ndarray  # (F, 3)
    shade: np.ndarray  # (F,) albedo multiplier: 1 for plain plastic, low for holes and hollows
    root: np.ndarray  # (F,) index of the body face a face belongs to (itself for body faces)
    level: np.ndarray  # (F,) 0 for body faces, 1 for details on them, 2 for details on details
    group_center: np.ndarray  # (F, 3) centre of the detail a face belongs to (for depth order)
    outline: np.ndarray  # (F,) bool: draw the face's edges (crisp plastic edges)


@dataclass
class MeshBuilder:
    """Accumulates faces; `build()` packs them into a `Mesh`."""

    _vertices: list[np.ndarray] = field(default_factory=list)
    _faces: list[tuple[np.ndarray, np.ndarray, float, int, int, np.ndarray, bool]] = field(default_factory=list)
    _count: int = 0

    def add_face(
        self,
        points: np.ndarray,
        normal: np.ndarray,
        *,
        parent: int = BODY,
        shade: float = 1.0,
        group_center: np.ndarray | None = None,
        outline: bool = True,
    ) -> int:
        """Add one convex planar polygon; returns its face index (to parent details on it)."""
        points = np.asarray(points, dtype=np.float64)
        normal = np.asarray(normal, dtype=np.float64)
        normal = normal / np.linalg.norm(normal)
        index = len(self._faces)
        if parent == BODY:
            root, level = index, 0
        else:
            root, level = self._faces[parent][3], self._faces[parent][4] + 1
        ids = np.arange(self._count, self._count + len(points))
        self._vertices.append(points)
        self._count += len(points)
        center = points.mean(axis=0) if group_center is None else np.asarray(group_center, dtype=np.float64)
        self._faces.append((ids, normal, shade, root, level, center, outline))
        return index

    def add_prism(
        self,
        profile: np.ndarray,
        origin: np.ndarray,
        axes: np.ndarray,
        length: float,
        *,
        parent: int = BODY,
        shade: float = 1.0,
        bottom_cap: bool = True,
        outline: bool = True,
    ) -> dict[str, int]:
        """Extrude a convex counter-clockwise 2-D `profile` along the third of `axes` (rows u, v, w).

        Returns the face indices of the caps ("bottom" at w=0, "top" at w=length) and the first
        side face ("side0"), so callers can hang details on them."""
        profile = np.asarray(profile, dtype=np.float64)
        u, v, w = (np.asarray(a, dtype=np.float64) for a in axes)
        origin = np.asarray(origin, dtype=np.float64)
        base = origin + profile[:, :1] * u + profile[:, 1:2] * v
        top = base + length * w
        center = (base.mean(axis=0) + top.mean(axis=0)) / 2
        faces: dict[str, int] = {}
        n = len(profile)
        for i in range(n):
            j = (i + 1) % n
            edge = base[j] - base[i]
            index = self.add_face(
                np.array([base[i], base[j], top[j], top[i]]),
                np.cross(edge, w),
                parent=parent,
                shade=shade,
                group_center=center if parent != BODY else None,
                outline=outline,
            )
            faces.setdefault("side0", index)
        group = center if parent != BODY else None
        faces["top"] = self.add_face(top, w, parent=parent, shade=shade, group_center=group, outline=outline)
        if bottom_cap:
            faces["bottom"] = self.add_face(
                base[::-1], -w, parent=parent, shade=shade, group_center=group, outline=outline
            )
        return faces

    def build(self) -> Mesh:
        """Pack the faces into a `Mesh`."""
        vertices = np.concatenate(self._vertices, axis=0)
        sizes = np.array([len(f[0]) for f in self._faces], dtype=np.int32)
        faces = np.full((len(self._faces), int(sizes.max())), -1, dtype=np.int32)
        for row, face in enumerate(self._faces):
            faces[row, : len(face[0])] = face[0]
        return Mesh(
            vertices=vertices,
            faces=faces,
            face_sizes=sizes,
            normals=np.array([f[1] for f in self._faces]),
            centroids=np.array([vertices[f[0]].mean(axis=0) for f in self._faces]),
            shade=np.array([f[2] for f in self._faces]),
            root=np.array([f[3] for f in self._faces], dtype=np.int32),
            level=np.array([f[4] for f in self._faces], dtype=np.int32),
            group_center=np.array([f[5] for f in self._faces]),
            outline=np.array([f[6] for f in self._faces], dtype=bool),
        )


def regular_polygon(radius: float, sides: int, center: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """Counter-clockwise `sides`-gon approximating a circle (a stud, tube or hole)."""
    angles = np.linspace(0.0, 2 * np.pi, sides, endpoint=False) + np.pi / sides
    return np.stack([center[0] + radius * np.cos(angles), center[1] + radius * np.sin(angles)], axis=1)


def rectangle(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    """Counter-clockwise rectangle profile."""
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)
