"""Fine-tuning unfreezes the top of the backbone; BatchNorm learns only when nothing was pretrained."""
from __future__ import annotations

import keras
import pytest

from trainer.train.config import TrainConfig
from trainer.train.model import CORE_NAME, SCRATCH_BATCH_NORM_MOMENTUM, build_feature_extractor, unfreeze_top


@pytest.fixture()
def features(tmp_path):
    return build_feature_extractor(TrainConfig(tmp_path, tmp_path / "run", input_hw=(32, 32), weights="none"))


def _norms(features):
    return [layer for layer in features.get_layer(CORE_NAME).layers if isinstance(layer, keras.layers.BatchNormalization)]


def test_fine_tuning_pretrained_weights_keeps_batch_norm_frozen_below_and_inside_the_cut(features):
    unfrozen = unfreeze_top(features, 10)
    layers = features.get_layer(CORE_NAME).layers
    assert 0 < unfrozen <= 10
    assert not any(layer.trainable for layer in layers[:-10])
    assert not any(layer.trainable for layer in _norms(features))
    momenta = {layer.momentum for layer in _norms(features)}
    assert SCRATCH_BATCH_NORM_MOMENTUM not in momenta


def test_training_from_scratch_trains_batch_norm_with_fast_moving_statistics(features):
    unfreeze_top(features, 10_000, from_scratch=True)
    assert all(layer.trainable for layer in _norms(features))
    assert {layer.momentum for layer in _norms(features)} == {SCRATCH_BATCH_NORM_MOMENTUM}


def test_imagenet_weights_that_cannot_be_fetched_give_an_error_saying_what_to_do(tmp_path, offline_keras):
    from trainer.train.model import WeightsDownloadError

    config = TrainConfig(tmp_path, tmp_path / "run", input_hw=(96, 96), alpha=0.35)
    with pytest.raises(WeightsDownloadError, match=r"not in .*empty-keras-home/models.*--weights none") as raised:
        build_feature_extractor(config)
    assert isinstance(raised.value, OSError)  # the CLI prints OSErrors as one line, no traceback
