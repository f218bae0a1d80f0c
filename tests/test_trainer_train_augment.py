"""Phase-2 augmentation: its strength scales every range, down to none at all."""
import numpy as np

from trainer.train.augment import turntable_augmentation


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
