"""Procedural renderer: a LEGO part on the turntable, as the rig's camera would photograph it.

Per frame: transform the posed mesh with numpy, cull back faces, order faces for a painter's
algorithm (see `mesh.py`), shade them (Lambert plus a little specular, in linear light), fill
them with cv2.fillConvexPoly over a cached background, under a blurred projected shadow; then
sensor noise and a JPEG round trip.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import cv2
import numpy as np

from device.sim.background import render_background
from device.sim.camera import CameraConfig, PinholeCamera
from device.sim.colors import linear_to_srgb
from device.sim.look import Look
from device.sim.parts import part_spec
from device.sim.posing import PosedMesh, rest_on_table, rotation_z
from device.sim.scene import Brick

# Bump when `render` draws something else for the same brick, angle and seed: the trainer
# keys its cache of rendered training images on it (trainer.data.rendered_extra).
RENDER_VERSION = 1

FIXED_POINT_SHIFT = 4  # cv2 drawing with 4 fractional bits: sub-pixel vertex positions
FIXED_POINT_SCALE = 1 << FIXED_POINT_SHIFT
EDGE_DARKEN = 0.78  # plastic edges read darker than the faces they bound
SPECULAR_POWER = 24.0
NOISE_MARGIN = 32  # the noise bank is this much larger than a frame, so crops can shift
SESSION_CACHE_SIZE = 16


@dataclass(frozen=True)
class RenderedFrame:
    """A rendered RGB frame and the brick's exact bounding box [x, y, w, h] (None if no brick)."""

    image: np.ndarray
    box: list[int] | None


@dataclass(frozen=True)
class _Session:
    """Everything fixed for one look: camera, empty-table frame, noise bank."""

    camera: PinholeCamera
    background: np.ndarray  # BGR uint8
    noise_up: np.ndarray  # uint8, added with saturation
    noise_down: np.ndarray  # uint8, subtracted with saturation


class Renderer:
    """Renders simulated turntable frames; deterministic given the brick, angle and rng state."""

    def __init__(
        self,
        size_hw: tuple[int, int] = (300, 300),
        camera: CameraConfig = CameraConfig(),
        *,
        jpeg: bool = True,
        blur_sigma: float = 0.6,
        noise_seed: int = 0,
    ) -> None:
        height, width = size_hw
        if not (16 <= height <= 4096 and 16 <= width <= 4096):
            raise ValueError(f"size_hw must be two sizes in [16, 4096] pixels, got {size_hw}")
        if blur_sigma < 0:
            raise ValueError(f"blur_sigma must be >= 0, got {blur_sigma}")
        self.size_hw = (int(height), int(width))
        self.camera_config = camera
        self.jpeg = jpeg
        self.blur_sigma = blur_sigma
        self._sessions: OrderedDict[Look, _Session] = OrderedDict()
        self._posed: dict[tuple[str, str], PosedMesh] = {}
        # One bank of unit sensor noise, scaled per session; frames crop it at random offsets.
        bank_shape = (self.size_hw[0] + NOISE_MARGIN, self.size_hw[1] + NOISE_MARGIN, 3)
        self._unit_noise = np.random.default_rng(noise_seed).standard_normal(bank_shape, dtype=np.float32)

    # -- public -------------------------------------------------------------------------
    def render(
        self, brick: Brick | None, table_angle_deg: float, rng: np.random.Generator, *, look: Look | None = None
    ) -> np.ndarray:
        """RGB uint8 (H, W, 3) frame of `brick` (None: the empty table) at the turntable's angle."""
        return self.render_labeled(brick, table_angle_deg, rng, look=look).image

    def render_labeled(
        self, brick: Brick | None, table_angle_deg: float, rng: np.random.Generator, *, look: Look | None = None
    ) -> RenderedFrame:
        """Like `render`, plus the brick's exact bounding box. `look` defaults to the brick's own."""
        bgr, box, look = self._compose(brick, table_angle_deg, rng, look)
        if self.jpeg:
            bgr = cv2.imdecode(self._encode(bgr, look), cv2.IMREAD_COLOR)
        return RenderedFrame(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), box)

    def render_jpeg(
        self, brick: Brick | None, table_angle_deg: float, rng: np.random.Generator, *, look: Look | None = None
    ) -> tuple[bytes, list[int] | None]:
        """The frame as JPEG file bytes (compressed once, at the look's quality) and the brick's box."""
        bgr, box, look = self._compose(brick, table_angle_deg, rng, look)
        return self._encode(bgr, look).tobytes(), box

    def camera_for(self, look: Look) -> PinholeCamera:
        """The camera a session with `look` sees through."""
        return self._session(look).camera

    # -- frame composition --------------------------------------------------------------
    def _compose(
        self, brick: Brick | None, angle: float, rng: np.random.Generator, look: Look | None
    ) -> tuple[np.ndarray, list[int] | None, Look]:
        look = look if look is not None else (brick.look if brick is not None else Look())
        session = self._session(look)
        frame = session.background.copy()
        box = None
        if brick is not None:
            box = self._draw_brick(frame, session.camera, brick, angle, look)
        if self.blur_sigma > 0:
            cv2.GaussianBlur(frame, (3, 3), self.blur_sigma, dst=frame)
        dy, dx = (int(v) for v in rng.integers(0, NOISE_MARGIN, size=2))
        height, width = self.size_hw
        cv2.add(frame, session.noise_up[dy : dy + height, dx : dx + width], dst=frame)
        cv2.subtract(frame, session.noise_down[dy : dy + height, dx : dx + width], dst=frame)
        return frame, box, look

    def _encode(self, bgr: np.ndarray, look: Look) -> np.ndarray:
        ok, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(look.jpeg_quality)])
        if not ok:
            raise OSError("OpenCV could not encode the rendered frame as JPEG")
        return data

    def _session(self, look: Look) -> _Session:
        session = self._sessions.get(look)
        if session is None:
            camera = PinholeCamera.from_config(self.camera_config, look, self.size_hw)
            background = render_background(camera, look, self.size_hw, self.camera_config.table_radius_mm)
            noise = np.clip(np.round(self._unit_noise * np.float32(look.noise_sigma)), -255, 255)
            session = _Session(
                camera,
                background,
                np.maximum(noise, 0).astype(np.uint8),
                np.maximum(-noise, 0).astype(np.uint8),
            )
            self._sessions[look] = session
            if len(self._sessions) > SESSION_CACHE_SIZE:
                self._sessions.popitem(last=False)
        return session

    def _posed_mesh(self, brick: Brick) -> PosedMesh:
        key = (brick.part_id, brick.pose)
        posed = self._posed.get(key)
        if posed is None:
            spec = part_spec(brick.part_id)
            posed = rest_on_table(spec.build(), spec.pose(brick.pose))
            self._posed[key] = posed
        return posed

    def _draw_brick(self, frame: np.ndarray, camera: PinholeCamera, brick: Brick, angle: float, look: Look) -> list[int]:
        posed = self._posed_mesh(brick)
        mesh = posed.mesh
        turn = rotation_z(angle)
        rotation = turn @ rotation_z(brick.yaw_deg)
        translation = turn @ np.array([*brick.offset_mm, 0.0])
        vertices = posed.vertices @ rotation.T + translation
        normals = posed.normals @ rotation.T
        centroids = posed.centroids @ rotation.T + translation
        groups = posed.group_center @ rotation.T + translation

        pixels = camera.project(vertices)
        light = look.light_direction()
        self._draw_shadow(frame, camera, vertices, light, look)

        to_face = centroids - camera.position
        facing = np.einsum("ij,ij->i", normals, to_face) < 0
        forward = camera.rotation[2]
        face_depth = to_face @ forward
        group_depth = (groups - camera.position) @ forward
        root_visible = facing[mesh.root]
        # Details on hidden faces first (far to near), then the body, then details on visible faces.
        phase = np.where(root_visible, np.where(mesh.level == 0, 1, 2), 0)
        primary = np.where(phase == 0, group_depth, face_depth[mesh.root])
        order = np.lexsort((-group_depth, mesh.level, -primary, phase))
        order = order[facing[order]]

        colors = _shade(brick, mesh.shade, normals, to_face, light, look)
        edges = (colors * EDGE_DARKEN).tolist()
        colors = colors.tolist()
        fixed = np.round(pixels * FIXED_POINT_SCALE).astype(np.int32)
        for i in order.tolist():
            polygon = fixed[mesh.faces[i, : mesh.face_sizes[i]]]
            cv2.fillConvexPoly(frame, polygon, colors[i], cv2.LINE_AA, FIXED_POINT_SHIFT)
            if mesh.outline[i]:
                cv2.polylines(frame, [polygon], True, edges[i], 1, cv2.LINE_AA, FIXED_POINT_SHIFT)
        return _clipped_box(pixels, self.size_hw)

    def _draw_shadow(self, frame: np.ndarray, camera: PinholeCamera, vertices: np.ndarray, light: np.ndarray, look: Look) -> None:
        """Darken the table under the brick: a cast shadow along the light plus contact occlusion."""
        cast = vertices - vertices[:, 2:3] / max(light[2], 0.2) * light
        footprint = vertices * np.array([1.0, 1.0, 0.0])
        cast_px, foot_px = camera.project(cast), camera.project(footprint)
        points = np.concatenate([cast_px, foot_px])
        sigma = max(1.0, 0.012 * min(self.size_hw))
        margin = int(3 * sigma) + 2
        height, width = self.size_hw
        x0, y0 = np.floor(points.min(axis=0)).astype(int) - margin
        x1, y1 = np.ceil(points.max(axis=0)).astype(int) + margin
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
        if x1 <= x0 or y1 <= y0:
            return
        strength = 0.55 * look.light_gain / (look.light_gain + look.ambient)
        mask = np.zeros((y1 - y0, x1 - x0), np.float32)
        origin = np.array([x0, y0])
        hull = cv2.convexHull(np.round((cast_px - origin) * FIXED_POINT_SCALE).astype(np.int32))
        cv2.fillConvexPoly(mask, hull, strength, cv2.LINE_AA, FIXED_POINT_SHIFT)
        contact = np.zeros_like(mask)
        hull = cv2.convexHull(np.round((foot_px - origin) * FIXED_POINT_SCALE).astype(np.int32))
        cv2.fillConvexPoly(contact, hull, 0.3, cv2.LINE_AA, FIXED_POINT_SHIFT)
        mask = cv2.GaussianBlur(mask, (0, 0), 2 * sigma) + cv2.GaussianBlur(contact, (0, 0), sigma)
        region = frame[y0:y1, x0:x1]
        np.copyto(region, (region * (1.0 - np.minimum(mask, 0.85))[..., None]).astype(np.uint8))


def _shade(brick: Brick, shade: np.ndarray, normals: np.ndarray, to_face: np.ndarray, light: np.ndarray, look: Look) -> np.ndarray:
    """BGR colour (0..255 floats) of every face: hemispheric ambient + Lambert + Blinn specular."""
    diffuse = look.light_gain * np.clip(normals @ light, 0.0, None)
    ambient = look.ambient * (0.7 + 0.3 * normals[:, 2])  # more sky above than table below
    view = -to_face / np.linalg.norm(to_face, axis=1, keepdims=True)
    half = view + light
    half /= np.linalg.norm(half, axis=1, keepdims=True)
    gloss = look.specular * np.clip(np.einsum("ij,ij->i", normals, half), 0.0, None) ** SPECULAR_POWER
    albedo = brick.color.linear()[None, :] * shade[:, None]
    linear = (albedo * (ambient + diffuse)[:, None] + (gloss * shade)[:, None]) * np.asarray(look.tint) * look.exposure
    return linear_to_srgb(linear)[:, ::-1] * 255.0


def _clipped_box(pixels: np.ndarray, size_hw: tuple[int, int]) -> list[int]:
    height, width = size_hw
    x0, y0 = np.floor(pixels.min(axis=0)).astype(int)
    x1, y1 = np.ceil(pixels.max(axis=0)).astype(int)
    x0, y0 = min(max(x0, 0), width), min(max(y0, 0), height)
    x1, y1 = min(max(x1, 0), width), min(max(y1, 0), height)
    return [int(x0), int(y0), int(x1 - x0), int(y1 - y0)]
