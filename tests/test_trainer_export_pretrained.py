"""Export of a tiny run on a real ImageNet backbone (../shared/keras-home): Keras, the float
TFLite model and the int8 one give the same answers. The random-init tiny run cannot show the
int8 part (its untrained backbone amplifies rounding, test_trainer_export_bundle.py); a
pretrained one, as every real bundle has, can."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tiny_training import tiny_config

BACKBONE = (
    Path(__file__).resolve().parents[1].parent / "shared" / "keras-home" / "models"
    / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_96_no_top.h5"
)


@pytest.mark.skipif(not BACKBONE.is_file(), reason="../shared/keras-home's MobileNetV2 0.35 at 96 weights not present")
def test_keras_float_and_int8_predictions_agree_on_a_pretrained_backbone(tmp_path):
    from device.classifier.classifier import Classifier
    from trainer.data.dataset import load_dataset
    from trainer.export import export_bundle
    from trainer.export.export import read_run
    from trainer.train import run_training
    from trainer.train.bottlenecks import load_crops
    from trainer.train.model import build_classifier_to_load

    config = tiny_config(tmp_path, weights=str(BACKBONE), input_hw=(96, 96))
    run_training(config)
    export_bundle(config.run_dir, tmp_path / "bundle", force=True)

    config, classes, _ = read_run(config.run_dir)
    crops = load_crops(load_dataset(config.data_root).items, classes, config, "crops")
    model, _, _ = build_classifier_to_load(config, len(classes))
    model.load_weights(config.run_dir / "best.weights.h5")
    keras_p = model.predict(crops.images.astype(np.float32), verbose=0)
    float_p = Classifier(tmp_path / "bundle", quantization="float32").probabilities(list(crops.images))
    int8_p = Classifier(tmp_path / "bundle", quantization="int8").probabilities(list(crops.images))

    assert len(crops.images) == 36
    assert (keras_p.argmax(axis=1) == crops.labels).mean() >= 0.9  # a model that has learned: agreement means something
    np.testing.assert_allclose(float_p, keras_p, atol=1e-4)
    agreement = (int8_p.argmax(axis=1) == keras_p.argmax(axis=1)).mean()
    assert agreement >= 0.9, f"int8 agrees with Keras on {agreement:.0%} of images"
    assert np.abs(int8_p - keras_p).max() < 0.3  # dequantised scores close, not only the winners
