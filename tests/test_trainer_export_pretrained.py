"""Export of a tiny run on a real ImageNet backbone (../shared/keras-home): Keras, the float
TFLite model and the int8 one give the same answers. The random-init tiny run cannot show the
int8 part (its untrained backbone amplifies rounding, test_trainer_export_bundle.py); a
pretrained one, as every real bundle has, can."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tiny_training import bundle_predictions, run_crops, tiny_config

BACKBONE = (
    Path(__file__).resolve().parents[1].parent / "shared" / "keras-home" / "models"
    / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_96_no_top.h5"
)


@pytest.mark.skipif(not BACKBONE.is_file(), reason="../shared/keras-home's MobileNetV2 0.35 at 96 weights not present")
def test_keras_float_and_int8_predictions_agree_on_a_pretrained_backbone(tmp_path):
    from trainer.export import export_bundle
    from trainer.train import run_training

    config = tiny_config(tmp_path, weights=str(BACKBONE), input_hw=(96, 96))
    run_training(config)
    export_bundle(config.run_dir, tmp_path / "bundle", force=True)
    crops = run_crops(config.run_dir)
    keras_p, float_p, int8_p = bundle_predictions(config.run_dir, tmp_path / "bundle", crops)

    assert len(crops.images) == 36
    assert (keras_p.argmax(axis=1) == crops.labels).mean() >= 0.9  # a model that has learned: agreement means something
    np.testing.assert_allclose(float_p, keras_p, atol=1e-4)
    agreement = (int8_p.argmax(axis=1) == keras_p.argmax(axis=1)).mean()
    assert agreement >= 0.9, f"int8 agrees with Keras on {agreement:.0%} of images"
    assert np.abs(int8_p - keras_p).max() < 0.3  # dequantised scores close, not only the winners
