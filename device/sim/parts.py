"""The part catalogue: true-proportion meshes of LEGO parts and their stable resting poses."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from device.sim import dimensions as dim
from device.sim.mesh import Mesh, MeshBuilder, rectangle, regular_polygon

X, Y, Z = np.eye(3)
STUD_SIDES = 12
HOLE_SIDES = 14


@dataclass(frozen=True)
class Pose:
    """A stable way for a part to lie on the table: the local face normal that points down."""

    name: str
    down: tuple[float, float, float]
    weight: float


UPRIGHT = Pose("upright", (0.0, 0.0, -1.0), 0.4)
UPSIDE_DOWN = Pose("upside-down", (0.0, 0.0, 1.0), 0.25)
ON_LONG_SIDE = Pose("on-long-side", (0.0, -1.0, 0.0), 0.25)
ON_END = Pose("on-end", (-1.0, 0.0, 0.0), 0.1)


@dataclass(frozen=True)
class PartSpec:
    """One catalogue entry: id, name, how to build its mesh, and its stable poses."""

    part_id: str
    name: str
    build: Callable[[], Mesh]
    poses: tuple[Pose, ...]

    def pose(self, name: str) -> Pose:
        """The pose called `name`; ValueError names the valid ones otherwise."""
        for pose in self.poses:
            if pose.name == name:
                return pose
        raise ValueError(f"part {self.part_id} has no pose {name!r}; poses: {', '.join(p.name for p in self.poses)}")


def _box_extent(studs_x: int, studs_y: int) -> tuple[float, float, float, float]:
    pitch, play = dim.STUD_PITCH, dim.PLAY
    return play, play, studs_x * pitch - play, studs_y * pitch - play


def _add_studs(builder: MeshBuilder, parent: int, centers: list[tuple[float, float]], z: float) -> None:
    for center in centers:
        builder.add_prism(
            regular_polygon(dim.STUD_DIAMETER / 2, STUD_SIDES, center),
            (0.0, 0.0, z),
            (X, Y, Z),
            dim.STUD_HEIGHT,
            parent=parent,
            bottom_cap=False,
        )


def _stud_grid(studs_x: int, studs_y: int, y_offset: float = 0.0) -> list[tuple[float, float]]:
    half = dim.STUD_PITCH / 2
    return [
        (half + i * dim.STUD_PITCH, y_offset + half + j * dim.STUD_PITCH) for i in range(studs_x) for j in range(studs_y)
    ]


def _add_disc(
    builder: MeshBuilder, parent: int, center: np.ndarray, u: np.ndarray, v: np.ndarray, radius: float, shade: float
) -> int:
    """A flat disc decal on the plane spanned by u, v (normal u x v)."""
    ring = regular_polygon(radius, HOLE_SIDES)
    points = center + ring[:, :1] * u + ring[:, 1:] * v
    return builder.add_face(points, np.cross(u, v), parent=parent, shade=shade, outline=False)


def _add_underside(builder: MeshBuilder, bottom: int, x0: float, y0: float, x1: float, y1: float) -> None:
    """The hollow underside seen from below: a dark recess inside the walls, tubes or pins in it."""
    wall = dim.WALL
    recess = np.array([[x0 + wall, y0 + wall, 0], [x0 + wall, y1 - wall, 0], [x1 - wall, y1 - wall, 0], [x1 - wall, y0 + wall, 0]])
    recess_face = builder.add_face(recess, -Z, parent=bottom, shade=0.22, outline=False)
    studs_x = round((x1 - x0) / dim.STUD_PITCH)
    studs_y = round((y1 - y0) / dim.STUD_PITCH)
    # Tubes stand between four studs (2-wide parts); thin pins between two (1-wide parts).
    for i in range(1, studs_x):
        x = x0 + (x1 - x0) * i / studs_x
        if studs_y == 1:
            _add_disc(builder, recess_face, np.array([x, (y0 + y1) / 2, 0.0]), Y, X, dim.PIN_DIAMETER / 2, 0.8)
            continue
        for j in range(1, studs_y):
            center = np.array([x, y0 + (y1 - y0) * j / studs_y, 0.0])
            tube = _add_disc(builder, recess_face, center, Y, X, dim.TUBE_OUTER_DIAMETER / 2, 0.85)
            _add_disc(builder, tube, center, Y, X, dim.TUBE_INNER_DIAMETER / 2, 0.3)


def _add_box(builder: MeshBuilder, studs_x: int, studs_y: int, height: float) -> dict[str, int]:
    x0, y0, x1, y1 = _box_extent(studs_x, studs_y)
    faces = builder.add_prism(rectangle(x0, y0, x1, y1), (0.0, 0.0, 0.0), (X, Y, Z), height)
    _add_studs(builder, faces["top"], _stud_grid(studs_x, studs_y), height)
    _add_underside(builder, faces["bottom"], x0, y0, x1, y1)
    return faces


def rectangular(studs_x: int, studs_y: int, height: float) -> Callable[[], Mesh]:
    """Builder of a plain brick or plate, `studs_x` long and `studs_y` wide."""

    def build() -> Mesh:
        builder = MeshBuilder()
        _add_box(builder, studs_x, studs_y, height)
        return builder.build()

    return build


def _technic_face_points(studs_x: int) -> list[float]:
    """x of the holes along a technic brick: between studs, or centred on a 1x2."""
    return [i * dim.STUD_PITCH for i in range(1, studs_x)]


def technic_round_holes(studs_x: int) -> Callable[[], Mesh]:
    """Builder of a 1xN technic brick with round pin holes through its long sides."""

    def build() -> Mesh:
        builder = MeshBuilder()
        faces = _add_box(builder, studs_x, 1, dim.BRICK_HEIGHT)
        _, y0, _, y1 = _box_extent(studs_x, 1)
        # rectangle() sides: 0 is the y0 face (normal -y), 2 the y1 face (normal +y)
        for side, y, u in ((faces["side0"], y0, X), (faces["side0"] + 2, y1, -X)):
            for x in _technic_face_points(studs_x):
                center = np.array([x, y, dim.TECHNIC_HOLE_HEIGHT])
                collar = _add_disc(builder, side, center, u, Z, dim.TECHNIC_COLLAR_DIAMETER / 2, 0.82)
                _add_disc(builder, collar, center, u, Z, dim.TECHNIC_HOLE_DIAMETER / 2, 0.12)
        return builder.build()

    return build


def technic_axle_hole() -> Mesh:
    """1x2 technic brick with a cross axle hole through its long sides (32064)."""
    builder = MeshBuilder()
    faces = _add_box(builder, 2, 1, dim.BRICK_HEIGHT)
    _, y0, _, y1 = _box_extent(2, 1)
    arm, half = dim.AXLE_ARM_WIDTH / 2, dim.TECHNIC_HOLE_DIAMETER / 2
    for side, y, u in ((faces["side0"], y0, X), (faces["side0"] + 2, y1, -X)):
        center = np.array([dim.STUD_PITCH, y, dim.TECHNIC_HOLE_HEIGHT])
        normal = np.cross(u, Z)
        boss = _add_disc(builder, side, center, u, Z, dim.TECHNIC_COLLAR_DIAMETER / 2, 0.82)
        for a, b in ((half, arm), (arm, half)):  # the two bars of the cross
            corners = np.array([[-a, -b], [a, -b], [a, b], [-a, b]])
            points = center + corners[:, :1] * u + corners[:, 1:] * Z
            builder.add_face(points, normal, parent=boss, shade=0.12, outline=False)
    return builder.build()


def _sloped(profile: np.ndarray, top_edge: int, bottom_edge: int, studs: list[tuple[float, float]], recess_y: tuple[float, float]) -> Mesh:
    """A 2-wide wedge: `profile` in (y, z) extruded 2 studs along x."""
    builder = MeshBuilder()
    x0, _, x1, _ = _box_extent(2, 2)
    faces = builder.add_prism(profile, (x0, 0.0, 0.0), (Y, Z, X), x1 - x0)
    _add_studs(builder, faces["side0"] + top_edge, studs, dim.BRICK_HEIGHT)
    y0, y1 = recess_y
    _add_underside(builder, faces["side0"] + bottom_edge, x0, y0, x1, y1)
    return builder.build()


def slope_45() -> Mesh:
    """Slope 45 2x2 (3039): one row of studs on a flat top, a 45 degree face down to a low front lip."""
    p = dim.PLAY
    lip = dim.BRICK_HEIGHT - (dim.STUD_PITCH - p)  # makes the slope exactly 45 degrees
    depth = 2 * dim.STUD_PITCH - p
    profile = np.array([[p, 0], [depth, 0], [depth, dim.BRICK_HEIGHT], [dim.STUD_PITCH, dim.BRICK_HEIGHT], [p, lip]])
    studs = [(4.0, 12.0), (12.0, 12.0)]
    return _sloped(profile, top_edge=2, bottom_edge=0, studs=studs, recess_y=(p, depth))


def inverted_slope_45() -> Mesh:
    """Inverted slope 45 2x2 (3660): four studs on a full top, the 45 degree face underneath."""
    p = dim.PLAY
    lip = dim.BRICK_HEIGHT - (dim.STUD_PITCH - p)  # makes the slope exactly 45 degrees
    depth = 2 * dim.STUD_PITCH - p
    top = dim.BRICK_HEIGHT
    profile = np.array([[dim.STUD_PITCH, 0], [depth, 0], [depth, top], [p, top], [p, top - lip]])
    return _sloped(profile, top_edge=2, bottom_edge=0, studs=_stud_grid(2, 2), recess_y=(dim.STUD_PITCH, depth))


SLOPE_POSES = (
    Pose("upright", (0.0, 0.0, -1.0), 0.3),
    Pose("on-slope", (0.0, -1 / np.sqrt(2), 1 / np.sqrt(2)), 0.25),
    Pose("on-back", (0.0, 1.0, 0.0), 0.15),
    Pose("on-side", (1.0, 0.0, 0.0), 0.1),
    Pose("on-other-side", (-1.0, 0.0, 0.0), 0.1),
    Pose("upside-down", (0.0, 0.0, 1.0), 0.1),
)
INVERTED_SLOPE_POSES = (
    Pose("upright", (0.0, 0.0, -1.0), 0.3),
    Pose("on-slope", (0.0, -1 / np.sqrt(2), -1 / np.sqrt(2)), 0.2),
    Pose("on-back", (0.0, 1.0, 0.0), 0.1),
    Pose("on-side", (1.0, 0.0, 0.0), 0.1),
    Pose("on-other-side", (-1.0, 0.0, 0.0), 0.1),
    Pose("upside-down", (0.0, 0.0, 1.0), 0.2),
)
BRICK_POSES = (UPRIGHT, UPSIDE_DOWN, ON_LONG_SIDE)
SMALL_BRICK_POSES = (UPRIGHT, UPSIDE_DOWN, ON_LONG_SIDE, ON_END)
PLATE_POSES = (Pose("upright", (0.0, 0.0, -1.0), 0.6), Pose("upside-down", (0.0, 0.0, 1.0), 0.4))

CATALOGUE: dict[str, PartSpec] = {
    spec.part_id: spec
    for spec in (
        PartSpec("2456", "Brick 2 x 6", rectangular(6, 2, dim.BRICK_HEIGHT), BRICK_POSES),
        PartSpec("3001", "Brick 2 x 4", rectangular(4, 2, dim.BRICK_HEIGHT), BRICK_POSES),
        PartSpec("3002", "Brick 2 x 3", rectangular(3, 2, dim.BRICK_HEIGHT), BRICK_POSES),
        PartSpec("3003", "Brick 2 x 2", rectangular(2, 2, dim.BRICK_HEIGHT), BRICK_POSES),
        PartSpec("3004", "Brick 1 x 2", rectangular(2, 1, dim.BRICK_HEIGHT), SMALL_BRICK_POSES),
        PartSpec("3010", "Brick 1 x 4", rectangular(4, 1, dim.BRICK_HEIGHT), BRICK_POSES),
        PartSpec("3039", "Slope 45 2 x 2", slope_45, SLOPE_POSES),
        PartSpec("32064", "Technic Brick 1 x 2 with Axle Hole", technic_axle_hole, SMALL_BRICK_POSES),
        PartSpec("3660", "Slope 45 2 x 2 Inverted", inverted_slope_45, INVERTED_SLOPE_POSES),
        PartSpec("3701", "Technic Brick 1 x 4 with Holes", technic_round_holes(4), BRICK_POSES),
        PartSpec("3020", "Plate 2 x 4", rectangular(4, 2, dim.PLATE_HEIGHT), PLATE_POSES),
        PartSpec("3022", "Plate 2 x 2", rectangular(2, 2, dim.PLATE_HEIGHT), PLATE_POSES),
        PartSpec("3023", "Plate 1 x 2", rectangular(2, 1, dim.PLATE_HEIGHT), PLATE_POSES),
    )
}
PART_IDS: tuple[str, ...] = tuple(CATALOGUE)


def part_spec(part_id: str) -> PartSpec:
    """The catalogue entry of `part_id`; ValueError lists the supported ids otherwise."""
    try:
        return CATALOGUE[part_id]
    except KeyError:
        raise ValueError(f"unknown part {part_id!r}; supported parts: {', '.join(PART_IDS)}") from None
