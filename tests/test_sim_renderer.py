"""The renderer draws a brick where its box says, deterministically, over the same empty table."""
import dataclasses

import numpy as np
import pytest

from device.sim.colors import color_by_name
from device.sim.look import Look, LookJitter, random_look
from device.sim.renderer import Renderer
from device.sim.scene import Brick, random_brick


def red_brick(part="3001", pose="upright", yaw=20.0):
    return Brick(part, color_by_name("Red"), pose, yaw_deg=yaw)


def test_frame_is_rgb_uint8_of_the_requested_size():
    frame = Renderer((120, 160)).render(red_brick(), 0.0, np.random.default_rng(0))
    assert frame.shape == (120, 160, 3) and frame.dtype == np.uint8


def test_same_seeds_render_identical_frames_and_other_seeds_do_not():
    def frame(seed):
        rng = np.random.default_rng(seed)
        return Renderer((96, 96)).render(random_brick("3039", rng), 30.0, rng)

    np.testing.assert_array_equal(frame(7), frame(7))
    assert not np.array_equal(frame(7), frame(8))


def test_brick_changes_the_frame_only_in_and_around_its_box():
    renderer = Renderer((200, 200), jpeg=False)
    brick = red_brick()
    shot = renderer.render_labeled(brick, 0.0, np.random.default_rng(1))
    empty = renderer.render(None, 0.0, np.random.default_rng(1), look=brick.look)
    x, y, w, h = shot.box
    assert w > 20 and h > 10
    diff = np.abs(shot.image.astype(int) - empty.astype(int)).sum(axis=2)
    inside = np.zeros_like(diff, dtype=bool)
    inside[y : y + h, x : x + w] = True
    assert diff[inside].mean() > 60  # a red brick on a pale table
    near = np.zeros_like(inside)
    near[max(y - 25, 0) : y + h + 25, max(x - 25, 0) : x + w + 25] = True  # room for the soft shadow
    assert diff[~near].max() == 0  # same noise, same table: untouched far from the brick
    patch = shot.image[y : y + h, x : x + w].reshape(-1, 3).astype(int)
    assert (patch[:, 0] - patch[:, 1]).mean() > 30  # and it is red


def test_turning_the_table_moves_the_brick_not_the_table():
    renderer = Renderer((160, 160), jpeg=False)
    brick = red_brick("2456")
    a = renderer.render_labeled(brick, 0.0, np.random.default_rng(2))
    b = renderer.render_labeled(brick, 90.0, np.random.default_rng(2))
    assert a.box != b.box
    assert not np.array_equal(a.image, b.image)
    assert np.array_equal(a.image[:10], b.image[:10])  # the far rim of the table is the same


def test_longer_parts_cover_more_of_the_frame():
    renderer = Renderer((200, 200), jpeg=False)
    widths = {part: renderer.render_labeled(red_brick(part, yaw=0.0), 0.0, np.random.default_rng(0)).box[2] for part in ("3003", "3001", "2456")}
    assert widths["3003"] < widths["3001"] < widths["2456"]


def test_the_session_look_stays_fixed_between_views_of_one_brick():
    rng = np.random.default_rng(3)
    brick = random_brick("3001", rng)
    renderer = Renderer((96, 96))
    renderer.render(brick, 0.0, rng)
    renderer.render(brick, 180.0, rng)
    assert renderer.camera_for(brick.look) is renderer.camera_for(brick.look)


def test_jpeg_round_trip_can_be_skipped_and_render_jpeg_gives_a_jpeg_file():
    renderer = Renderer((64, 64))
    data, box = renderer.render_jpeg(red_brick(), 0.0, np.random.default_rng(0))
    assert data[:2] == b"\xff\xd8" and len(box) == 4


def test_random_looks_vary_within_their_ranges():
    looks = [random_look(np.random.default_rng(i)) for i in range(20)]
    assert len({look.light_azimuth_deg for look in looks}) == 20
    assert all(0.85 <= look.camera_distance_scale <= 1.15 for look in looks)
    nominal = random_brick("3001", np.random.default_rng(0), jitter=None)
    assert nominal.look == Look()


def test_the_nominal_look_lies_inside_the_jitter_ranges():
    nominal, jitter = Look(), LookJitter()
    checks = {
        "tint_red": nominal.tint[0], "tint_green": nominal.tint[1], "tint_blue": nominal.tint[2],
        "camera_target_mm": nominal.camera_target_mm[0],
    }
    for field in dataclasses.fields(jitter):
        value = checks.get(field.name, getattr(nominal, field.name, None))
        low, high = getattr(jitter, field.name)
        assert low <= value <= high, field.name


def test_bad_settings_are_refused_by_name():
    with pytest.raises(ValueError, match="size_hw"):
        Renderer((0, 300))
    with pytest.raises(ValueError, match="light_gain"):
        LookJitter(light_gain=(1.0, 0.5))
    with pytest.raises(ValueError, match="no pose 'standing'"):
        dataclasses.replace(red_brick(), pose="standing")
    with pytest.raises(ValueError, match="unknown LEGO colour"):
        color_by_name("Octarine")
