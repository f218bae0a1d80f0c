"""Phase-2 augmentation: its strength scales every range, down to none at all; colour changes are opt-in."""
import keras
import numpy as np
import pytest

from trainer.train.augment import RandomPose, pose_transforms, turntable_augmentation, warp_batch


def _batch():
    rng = np.random.default_rng(0)
    return rng.uniform(0, 255, (4, 32, 32, 3)).astype(np.float32)


def test_strength_zero_leaves_the_images_as_they_are():
    images = _batch()
    out = np.asarray(turntable_augmentation(False, 1, strength=0.0)(images, training=True))
    np.testing.assert_allclose(out, images, atol=1e-3)


def test_gentler_augmentation_changes_images_less_than_the_full_turntable_set():
    images = _batch()
    change = {
        strength: float(np.abs(np.asarray(turntable_augmentation(False, 1, strength=strength)(images, training=True)) - images).mean())
        for strength in (0.1, 1.0)
    }
    assert 0 < change[0.1] < change[1.0]


def test_colour_augmentation_recolours_whole_images_and_greys_some_without_moving_pixels():
    red = np.zeros((32, 8, 8, 3), dtype=np.float32)
    red[..., 0] = 200.0
    out = np.asarray(turntable_augmentation(False, 1, strength=0.0, colour=True)(red, training=True))
    per_image_spread = out.reshape(32, -1, 3).std(axis=1).max()
    assert per_image_spread < 1e-3  # each image stays one flat colour: nothing moved or mixed
    colours = out[:, 0, 0, :]
    grey = np.ptp(colours, axis=1) < 1.0
    dominant = colours.argmax(axis=1)
    assert 0 < grey.sum() < 32  # some images turn grey, not all
    assert len(set(dominant[~grey].tolist())) >= 2  # the hue moved off red for some


def test_colour_augmentation_keeps_pixels_in_range():
    out = np.asarray(turntable_augmentation(False, 1, strength=0.0, colour=True)(_batch(), training=True))
    assert out.min() >= -0.5 and out.max() <= 255.5


def _transforms(count: int, height: int, width: int, angle: float = 0.0, scale: float = 1.0, shift_yx=(0.0, 0.0)) -> np.ndarray:
    return np.asarray(pose_transforms(
        np.full(count, angle, np.float32), np.full(count, scale, np.float32), np.tile(np.float32(shift_yx), (count, 1)), height, width
    ))


def _warp(image: np.ndarray, angle: float = 0.0, scale: float = 1.0, shift_yx=(0.0, 0.0)) -> np.ndarray:
    return warp_batch(image[None], _transforms(1, *image.shape[:2], angle, scale, shift_yx))[0]


def test_the_opencv_warp_resamples_as_keras_affine_transform_does():
    # Keras' own bilinear warp with reflected edges is the reference; the edges included.
    ys, xs = np.mgrid[0:40, 0:48].astype(np.float32)
    image = np.stack([128 + 100 * np.sin(xs / 5) * np.cos(ys / 7), xs * 5, ys * 6], axis=-1)
    batch = np.stack([image, image[::-1]])
    transforms = np.concatenate([_transforms(1, 40, 48, 0.3, 1.04, (1.5, -2.25)), _transforms(1, 40, 48, -2.0, 0.95, (0.0, 3.0))])
    expected = np.asarray(keras.ops.image.affine_transform(batch, transforms, interpolation="bilinear", fill_mode="reflect"))
    np.testing.assert_allclose(warp_batch(batch, transforms), expected, atol=0.01)


def _marked(height: int = 9, width: int = 9) -> np.ndarray:
    image = np.zeros((height, width, 3), np.float32)
    image[1, 6] = 255.0  # one bright pixel up and to the right of the centre
    return image


def test_a_quarter_turn_turns_the_image_about_its_centre():
    # Counter-clockwise as seen (y down): np.rot90 turns the same way.
    np.testing.assert_allclose(_warp(_marked(), angle=np.pi / 2), np.rot90(_marked()), atol=1e-3)
    np.testing.assert_allclose(_warp(_marked(), angle=np.pi), np.rot90(_marked(), 2), atol=1e-3)


def test_a_shift_moves_the_content_down_and_right_by_whole_pixels():
    image = np.zeros((9, 9, 3), np.float32)
    image[4, 5] = 255.0  # far enough from the edges that no reflection of it comes in
    moved = _warp(image, shift_yx=(2.0, -3.0))
    assert np.argwhere(moved[..., 0] > 254).tolist() == [[6, 2]]


def test_a_scale_above_one_shows_the_brick_smaller_about_the_centre():
    image = np.zeros((21, 21, 3), np.float32)
    image[6:15, 6:15] = 255.0  # a 9-pixel square in the middle
    inside = np.argwhere(_warp(image, scale=1.5)[..., 0] > 200)  # 9 / 1.5 = 6 pixels across, 7 and 13 half in
    assert inside.min(axis=0).tolist() == [8, 8] and inside.max(axis=0).tolist() == [12, 12]


def test_random_pose_turns_each_image_within_its_range():
    bar = np.zeros((64, 33, 33, 3), np.float32)
    bar[:, 16, 4:29] = 255.0  # a horizontal bar through the centre
    out = np.asarray(RandomPose(rotation=0.05, zoom=0.0, shift=0.0, seed=3)(bar, training=True))[..., 0]
    angles = []
    for image in out:
        ys, xs = np.nonzero(image > 64)
        angles.append(np.degrees(np.arctan2(*np.polyfit(xs - 16.0, ys - 16.0, 1)[:1], 1.0)))
    assert max(abs(a) for a in angles) <= 18.0 + 1.5  # 5% of a turn either way
    assert max(angles) > 9.0 and min(angles) < -9.0  # both ways, over most of the range
    np.testing.assert_array_equal(RandomPose(0.05, 0.0, 0.0, seed=3)(bar, training=False), bar)


def test_random_pose_refuses_ranges_it_cannot_draw():
    with pytest.raises(ValueError, match="zoom"):
        RandomPose(rotation=0.1, zoom=1.0, shift=0.0)
