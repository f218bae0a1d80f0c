"""Phase 2's frozen BatchNorm folded into the convolution before it: the same function, the
same variables, and only where the fold is exact."""
from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from trainer.train.folding import fold_frozen_batch_norm


def _norms(model: keras.Model) -> list[keras.layers.BatchNormalization]:
    return [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]


@pytest.fixture(scope="module")
def frozen_top() -> keras.Model:
    """MobileNetV2 0.35's layers above block_5_add (as phase 2 cuts it), with BatchNorm frozen
    on statistics far from the identity, as pretrained ones are."""
    keras.utils.set_random_seed(3)
    core = keras.applications.MobileNetV2(input_shape=(64, 64, 3), alpha=0.35, include_top=False, weights=None, pooling="avg")
    rng = np.random.default_rng(3)
    for norm in _norms(core):
        channels = norm.moving_mean.shape[0]
        norm.moving_mean.assign(rng.normal(0, 0.5, channels))
        norm.moving_variance.assign(rng.uniform(0.05, 4.0, channels))
        norm.gamma.assign(rng.uniform(0.3, 2.0, channels))
        norm.beta.assign(rng.normal(0, 0.5, channels))
        norm.trainable = False
    return keras.Model(core.get_layer("block_5_add").output, core.output)


def test_the_folded_top_computes_the_same_outputs_and_gradients_with_the_same_variables(frozen_top):
    folded, count = fold_frozen_batch_norm(frozen_top)
    assert count == len(_norms(frozen_top)) > 20  # every BatchNorm here follows a convolution
    assert not _norms(folded)
    assert [id(v) for v in folded.trainable_weights] == [id(v) for v in frozen_top.trainable_weights]

    x = tf.constant(np.random.default_rng(0).normal(0, 1, (4, *frozen_top.input.shape[1:])), tf.float32)
    outputs, gradients = [], []
    for model in (frozen_top, folded):
        with tf.GradientTape() as tape:
            y = model(x, training=True)
            loss = tf.reduce_sum(y * tf.range(y.shape[-1], dtype=tf.float32))
        outputs.append(y.numpy())
        gradients.append(tape.gradient(loss, model.trainable_weights))
    np.testing.assert_allclose(outputs[1], outputs[0], rtol=1e-4, atol=1e-5 * np.abs(outputs[0]).max())
    for original, refolded in zip(*gradients):
        np.testing.assert_allclose(refolded.numpy(), original.numpy(), rtol=1e-3, atol=1e-4 * np.abs(original.numpy()).max())


def test_the_folded_top_has_a_config_as_keras_models_do(frozen_top):
    """TensorBoard draws a model's graph from its JSON config."""
    folded, _ = fold_frozen_batch_norm(frozen_top)
    rebuilt = keras.models.model_from_json(folded.to_json())
    assert [layer.name for layer in rebuilt.layers] == [layer.name for layer in folded.layers]


def test_training_the_folded_top_trains_the_original(frozen_top):
    folded, _ = fold_frozen_batch_norm(frozen_top)
    inputs = keras.Input(frozen_top.input.shape[1:])
    trained = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(folded(inputs)))
    trained.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    kernel = frozen_top.trainable_weights[0]
    before = kernel.numpy().copy()
    x = np.random.default_rng(1).normal(0, 1, (8, *frozen_top.input.shape[1:])).astype(np.float32)
    trained.fit(x, np.arange(8) % 3, epochs=1, batch_size=8, verbose=0)
    assert not np.allclose(kernel.numpy(), before)  # the original's kernel moved
    np.testing.assert_allclose(folded(x).numpy(), frozen_top(x).numpy(), rtol=1e-4, atol=1e-5)


def test_only_exact_folds_are_made():
    """Trainable BatchNorm (training from scratch), a convolution whose output something else
    also reads, and one with its own activation are left as they are."""
    inputs = keras.Input((8, 8, 3))
    plain = keras.layers.Conv2D(4, 3, padding="same", use_bias=False)(inputs)
    normed = keras.layers.BatchNormalization()(plain)
    shared = keras.layers.Conv2D(4, 1)(normed)
    both = keras.layers.Add()([keras.layers.BatchNormalization()(shared), shared])
    activated = keras.layers.Conv2D(4, 1, activation="relu")(both)
    outputs = keras.layers.BatchNormalization()(activated)
    model = keras.Model(inputs, outputs)

    assert fold_frozen_batch_norm(model) == (model, 0)  # all three BatchNorms trainable
    for norm in _norms(model):
        norm.trainable = False
    folded, count = fold_frozen_batch_norm(model)
    assert count == 1  # only the first pair
    assert len(_norms(folded)) == 2
    x = np.random.default_rng(2).normal(0, 1, (2, 8, 8, 3)).astype(np.float32)
    np.testing.assert_allclose(folded(x).numpy(), model(x).numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "conv",
    [
        keras.layers.Conv2D(6, 1, use_bias=False),
        keras.layers.Conv2D(6, 1, use_bias=True),
        keras.layers.Conv2D(6, 1, strides=2),
        keras.layers.Conv2D(6, 3, padding="same"),
        keras.layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2),
    ],
    ids=["pointwise", "pointwise-bias", "strided-1x1", "3x3", "depthwise"],
)
def test_each_kind_of_folded_convolution_keeps_outputs_and_gradients(conv):
    """Every convolution the fold meets, with and without a bias of its own: the same outputs
    and the same gradients, for the input as for the weights."""
    inputs = keras.Input((7, 5, 3))  # odd, unequal sides: height and width kept apart
    norm = keras.layers.BatchNormalization()
    model = keras.Model(inputs, norm(conv(inputs)))
    rng = np.random.default_rng(4)
    norm.moving_mean.assign(rng.normal(0, 0.5, norm.moving_mean.shape))
    norm.moving_variance.assign(rng.uniform(0.05, 4.0, norm.moving_variance.shape))
    norm.trainable = False
    folded, count = fold_frozen_batch_norm(model)
    assert count == 1

    x = tf.constant(rng.normal(0, 1, (3, 7, 5, 3)), tf.float32)
    results = []
    for candidate in (model, folded):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = candidate(x, training=True)
            loss = tf.reduce_sum(y * y)
        results.append((y.numpy(), *[g.numpy() for g in tape.gradient(loss, [x, *candidate.trainable_weights])]))
    for original, refolded in zip(*results):
        np.testing.assert_allclose(refolded, original, rtol=1e-4, atol=1e-5 * np.abs(original).max())


def test_phase_2_on_images_trains_the_whole_classifier_with_its_frozen_batch_norm_folded():
    """`--fine-tune-input images` fits the classifier itself: its backbone is folded the same way,
    frozen stem and trained top alike, and training the folded model trains the original."""
    from tiny_training import calibrated_tiny_classifier
    from trainer.train.config import TrainConfig
    from trainer.train.model import CORE_NAME, FEATURES_NAME, unfreeze_top, with_folded_backbone

    model, crops = calibrated_tiny_classifier(TrainConfig(data_root=".", run_dir=".", weights="none", input_hw=(32, 32)))
    features = model.get_layer(FEATURES_NAME)
    unfreeze_top(features, 30)  # pretrained: every BatchNorm frozen, the top's convolutions trainable
    norms = _norms(features.get_layer(CORE_NAME))

    folded, count = with_folded_backbone(model)
    assert count == len(norms) > 30
    assert not _norms(folded.get_layer(CORE_NAME))
    assert [id(v) for v in folded.trainable_weights] == [id(v) for v in model.trainable_weights]
    np.testing.assert_allclose(folded(crops).numpy(), model(crops).numpy(), rtol=1e-4, atol=1e-5)

    folded.compile(optimizer=keras.optimizers.SGD(0.05), loss="sparse_categorical_crossentropy")
    top_kernel = model.trainable_weights[0]
    before = top_kernel.numpy().copy()
    folded.fit(crops, np.arange(len(crops)) % 3, epochs=1, batch_size=8, verbose=0)
    assert not np.allclose(top_kernel.numpy(), before)
    np.testing.assert_allclose(folded(crops).numpy(), model(crops).numpy(), rtol=1e-4, atol=1e-5)


def test_a_backbone_whose_every_batch_norm_trains_is_trained_as_it_is():
    """From scratch with every layer unfrozen (`bricksort demo` without ImageNet weights) each
    BatchNorm keeps learning its statistics: nothing folds."""
    from tiny_training import calibrated_tiny_classifier
    from trainer.train.config import TrainConfig
    from trainer.train.model import CORE_NAME, FEATURES_NAME, unfreeze_top, with_folded_backbone

    model, _ = calibrated_tiny_classifier(TrainConfig(data_root=".", run_dir=".", weights="none", input_hw=(32, 32)))
    features = model.get_layer(FEATURES_NAME)
    unfreeze_top(features, len(features.get_layer(CORE_NAME).layers), from_scratch=True)
    assert all(norm.trainable for norm in _norms(features.get_layer(CORE_NAME)))
    assert with_folded_backbone(model) == (model, 0)
