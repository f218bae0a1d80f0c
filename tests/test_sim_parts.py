"""The part catalogue has LEGO's true proportions and plausible resting poses."""
import numpy as np
import pytest

from device.sim import dimensions as dim
from device.sim.parts import HOLE_SIDES, PART_IDS, STUD_SIDES, part_spec
from device.sim.posing import rest_on_table

# Counted on the real parts.
STUDS = {
    "2456": 12, "3001": 8, "3002": 6, "3003": 4, "3004": 2, "3010": 4, "3039": 2,
    "32064": 2, "3660": 4, "3701": 4, "3020": 8, "3022": 4, "3023": 2,
}
# Footprint in studs (length, width) and body height in mm.
FOOTPRINT = {
    "2456": (6, 2, 9.6), "3001": (4, 2, 9.6), "3002": (3, 2, 9.6), "3003": (2, 2, 9.6), "3004": (2, 1, 9.6),
    "3010": (4, 1, 9.6), "3039": (2, 2, 9.6), "32064": (2, 1, 9.6), "3660": (2, 2, 9.6), "3701": (4, 1, 9.6),
    "3020": (4, 2, 3.2), "3022": (2, 2, 3.2), "3023": (2, 1, 3.2),
}


def stud_tops(mesh):
    """Indices of the top caps of studs: STUD_SIDES-gons facing straight up."""
    up = np.isclose(mesh.normals[:, 2], 1.0)
    return np.flatnonzero(up & (mesh.face_sizes == STUD_SIDES) & (mesh.level == 1))


def test_the_ten_turntable_parts_and_some_plates_are_supported():
    assert {"2456", "3001", "3002", "3003", "3004", "3010", "3039", "32064", "3660", "3701"} <= set(PART_IDS)
    assert {"3020", "3022", "3023"} <= set(PART_IDS)


@pytest.mark.parametrize("part", sorted(STUDS))
def test_each_part_has_its_real_stud_count(part):
    assert len(stud_tops(part_spec(part).build())) == STUDS[part]


@pytest.mark.parametrize("part", sorted(FOOTPRINT))
def test_upright_extent_is_the_stud_grid_plus_stud_height(part):
    length, width, height = FOOTPRINT[part]
    mesh = part_spec(part).build()
    extent = mesh.vertices.max(axis=0) - mesh.vertices.min(axis=0)
    np.testing.assert_allclose(extent, [8 * length - 0.2, 8 * width - 0.2, height + 1.7], atol=1e-9)


def test_studs_are_4_8_mm_wide_1_7_mm_tall_on_an_8_mm_pitch():
    mesh = part_spec("3001").build()
    tops = stud_tops(mesh)
    centers = []
    for face in tops:
        ring = mesh.vertices[mesh.faces[face, : mesh.face_sizes[face]]]
        center = ring.mean(axis=0)
        np.testing.assert_allclose(np.linalg.norm(ring[:, :2] - center[:2], axis=1), dim.STUD_DIAMETER / 2)
        assert center[2] == pytest.approx(dim.BRICK_HEIGHT + dim.STUD_HEIGHT)
        centers.append(center[:2])
    xs = np.unique(np.round([c[0] for c in centers], 6))
    np.testing.assert_allclose(np.diff(xs), 8.0)


def test_slopes_have_a_45_degree_face_up_or_down():
    slope = part_spec("3039").build().normals
    inverted = part_spec("3660").build().normals
    assert np.any(np.all(np.isclose(slope, [0, -np.sqrt(0.5), np.sqrt(0.5)], atol=0.01), axis=1))
    assert np.any(np.all(np.isclose(inverted, [0, -np.sqrt(0.5), -np.sqrt(0.5)], atol=0.01), axis=1))


def test_technic_bricks_show_holes_on_both_long_sides_and_plain_bricks_none():
    def holes(part):
        mesh = part_spec(part).build()
        sideways = np.abs(mesh.normals[:, 1]) > 0.99
        return int(np.sum(sideways & (mesh.face_sizes == HOLE_SIDES) & (mesh.level == 2)))

    assert holes("3701") == 6  # three through holes, seen from either side
    assert holes("3010") == 0
    axle = part_spec("32064").build()
    assert np.sum((np.abs(axle.normals[:, 1]) > 0.99) & (axle.level == 2)) == 4  # two crossed bars per side


@pytest.mark.parametrize("part", PART_IDS)
def test_every_pose_rests_on_the_table_with_its_down_face_flat(part):
    spec = part_spec(part)
    for pose in spec.poses:
        posed = rest_on_table(spec.build(), pose)
        assert posed.vertices[:, 2].min() == pytest.approx(0.0, abs=1e-9)
        down = np.asarray(pose.down) / np.linalg.norm(pose.down)
        face = np.argmax(spec.build().normals @ down)
        np.testing.assert_allclose(posed.normals[face], [0, 0, -1], atol=1e-9)


def test_an_upside_down_brick_stands_on_its_studs():
    posed = rest_on_table(part_spec("3001").build(), part_spec("3001").pose("upside-down"))
    assert posed.vertices[:, 2].max() == pytest.approx(dim.BRICK_HEIGHT + dim.STUD_HEIGHT)
    bottom_faces = np.isclose(posed.normals[:, 2], 1.0) & (posed.mesh.level == 0)
    assert posed.centroids[bottom_faces, 2] == pytest.approx(dim.BRICK_HEIGHT + dim.STUD_HEIGHT)


def test_unknown_part_and_pose_are_refused_with_the_valid_choices():
    with pytest.raises(ValueError, match="supported parts: .*3001"):
        part_spec("9999")
    with pytest.raises(ValueError, match="poses: upright"):
        part_spec("3001").pose("flying")
