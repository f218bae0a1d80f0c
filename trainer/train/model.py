"""The classifier: MobileNet feature extractor (normalisation inside) + softmax head.

The model takes uint8-range RGB (0..255, as float or uint8) so the exported TFLite model
takes uint8 and no normalisation can drift between training and the Pi. The feature
extractor and the head are separate sub-models: phase 1 trains the head alone on cached
features, phase 2 fine-tunes the two joined.
"""
from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import keras
import numpy as np

from trainer.train.config import TrainConfig
from trainer.train.folding import fold_frozen_batch_norm
from trainer.train.noise_bank import BankedNoise

FEATURES_NAME = "features"
HEAD_NAME = "head"
CORE_NAME = "backbone"
NORMALISE_NAME = "normalise"


class WeightsDownloadError(OSError):
    """ImageNet weights are neither in the Keras cache nor downloadable."""


def _core(config: TrainConfig, weights: str | None) -> keras.Model:
    shape = (*config.input_hw, 3)
    common = dict(input_shape=shape, alpha=config.alpha, include_top=False, weights=weights, pooling="avg")
    # V3 carries its own rescaling (include_preprocessing) and takes 0..255.
    builders = {
        "mobilenet_v2": lambda: keras.applications.MobileNetV2(**common),
        "mobilenet": lambda: keras.applications.MobileNet(**common),
        "mobilenet_v3_small": lambda: keras.applications.MobileNetV3Small(**common, include_preprocessing=False),
        "mobilenet_v3_large": lambda: keras.applications.MobileNetV3Large(**common, include_preprocessing=False),
    }
    try:
        return builders[config.backbone]()
    except Exception as exc:  # Keras reports a failed download as a bare Exception
        if "URL fetch failure" not in str(exc):
            raise
        cache = Path(os.environ.get("KERAS_HOME", "~/.keras")).expanduser() / "models"
        raise WeightsDownloadError(
            f"ImageNet weights for {config.backbone} alpha {config.alpha} at {shape[0]}x{shape[1]} are not in {cache} "
            f"and could not be downloaded ({exc}). Connect once to fetch them, point KERAS_HOME at a folder whose "
            "models/ holds them, or train with --weights none or --weights FILE"
        ) from exc


def build_feature_extractor(config: TrainConfig) -> keras.Model:
    """0..255 RGB image -> pooled backbone features, with the backbone's weights loaded
    ("imagenet" from KERAS_HOME or the internet, "none" seeded random, or a weights file)."""
    keras.utils.set_random_seed(config.seed)  # 'none' weights must be the same in every run
    weights = None if config.weights == "none" else config.weights
    core = _core(config, None if weights and Path(weights).is_file() else weights)
    core.name = CORE_NAME
    if weights and Path(weights).is_file():
        core.load_weights(weights)
    inputs = keras.Input(shape=(*config.input_hw, 3), name="image")
    # MobileNet V1/V2 were trained on [-1, 1]; V3 on the same, so one layer serves all.
    scaled = keras.layers.Rescaling(1.0 / 127.5, offset=-1.0, name=NORMALISE_NAME)(inputs)
    return keras.Model(inputs, core(scaled), name=FEATURES_NAME)


def build_head(feature_dim: int, num_classes: int, config: TrainConfig) -> keras.Model:
    """Pooled features -> class probabilities (softmax, float32 even under mixed precision)."""
    inputs = keras.Input(shape=(feature_dim,), name="features")
    # Training-only noise: a head that tolerates it also tolerates the int8 backbone's
    # feature error (~30% relative on MobileNetV2 0.35 here) and overfits less.
    x = BankedNoise(config.feature_noise, config.dropout, seed=config.seed + 2, name="feature_noise")(inputs)
    if config.hidden_units:
        x = keras.layers.Dense(config.hidden_units, activation="relu", name="hidden")(x)
        x = BankedNoise(0.0, config.dropout, seed=config.seed + 1, name="hidden_dropout")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", dtype="float32", name="probabilities")(x)
    return keras.Model(inputs, outputs, name=HEAD_NAME)


def build_classifier(config: TrainConfig, num_classes: int) -> tuple[keras.Model, keras.Model, keras.Model]:
    """(full model, feature extractor, head); the full model shares the other two's layers."""
    features = build_feature_extractor(config)
    head = build_head(int(features.output.shape[-1]), num_classes, config)
    inputs = keras.Input(shape=(*config.input_hw, 3), name="image")
    model = keras.Model(inputs, head(features(inputs)), name="bricksort_classifier")
    return model, features, head


def build_classifier_to_load(config: TrainConfig, num_classes: int) -> tuple[keras.Model, keras.Model, keras.Model]:
    """`build_classifier` for a model whose every weight is about to be loaded (a run's
    checkpoint) or copied from another model: it skips the backbone's starting weights, so it
    needs neither ImageNet's download nor a weights file. The layers and the seeded state of
    Keras' random generators are those `build_classifier` leaves."""
    return build_classifier(replace(config, weights="none"), num_classes)


def with_folded_backbone(model: keras.Model) -> tuple[keras.Model, int]:
    """(the classifier `model` rebuilt with its backbone's frozen BatchNorm folded into the
    convolutions before them, how many were folded): the same function on the same variables,
    for training the whole model (trainer.train.folding)."""
    features = model.get_layer(FEATURES_NAME)
    core, folds = fold_frozen_batch_norm(features.get_layer(CORE_NAME))
    if not folds:
        return model, 0
    images = keras.Input(shape=model.input.shape[1:], name="image")
    pooled = core(features.get_layer(NORMALISE_NAME)(images))
    return keras.Model(images, model.get_layer(HEAD_NAME)(pooled), name=f"{model.name}_folded"), folds


def calibrate_batch_norm(features: keras.Model, images: np.ndarray) -> None:
    """Set every BatchNorm layer's moving statistics to those of `images` (one forward pass).

    A randomly initialised MobileNet (`--weights none`) has identity BatchNorm statistics, and
    its pooled features shrink to ~1e-8 over 50+ layers: nothing a head (or int8) can use.
    Normalising each layer on real crops keeps the random features O(1) and informative."""
    layers = [layer for layer in features.get_layer(CORE_NAME).layers if isinstance(layer, keras.layers.BatchNormalization)]
    momenta = [layer.momentum for layer in layers]
    for layer in layers:
        layer.momentum = 0.0  # moving stats := this batch's stats
    try:
        features(images.astype(np.float32), training=True)
    finally:
        for layer, momentum in zip(layers, momenta):
            layer.momentum = momentum


# Keras' MobileNets keep 99.9% of their BatchNorm statistics per step; a network learning from
# scratch changes faster than that, and its validation loss stays at chance for epochs.
SCRATCH_BATCH_NORM_MOMENTUM = 0.9


# How far below the lowest unfrozen layer `split_at_stem` may look for a narrow place to cut:
# more than one block of any of the backbones, so a block boundary is always within reach.
STEM_CUT_WINDOW = 20


def _cuts_cleanly(core: keras.Model, index: int) -> bool:
    """Whether layer `index`'s output is all that the layers above it need from below (no
    residual connection crosses it), so the backbone can be cut there."""
    try:
        keras.Model(core.layers[index].output, core.output)
    except ValueError:  # Keras: "not connected to inputs"
        return False
    return True


# Phase 2's default share of the backbone: the top 30 of MobileNetV2's 155 layers (blocks 14-16
# and Conv_1, cut at block_13_project_BN in its last stage). On eight splits of turntable-10 it
# scored as well as the top 100 (above block_5_add) in 40% of phase 2's time, and better than
# the top 20 (docs/training.md); other backbones get the same share of their own layers.
DEFAULT_FINE_TUNE_SHARE = 30 / 155


def fine_tune_layer_count(features: keras.Model, requested: int | None) -> int:
    """How many backbone layers, from the top, phase 2 trains: `requested`, or when None
    (TrainConfig's default) DEFAULT_FINE_TUNE_SHARE of the backbone's layers."""
    if requested is not None:
        return requested
    return round(len(features.get_layer(CORE_NAME).layers) * DEFAULT_FINE_TUNE_SHARE)


def split_at_stem(features: keras.Model, trainable_layers: int | None) -> tuple[str, keras.Model, keras.Model]:
    """Cut the extractor below its top `trainable_layers` backbone layers (None: the default
    share, `fine_tune_layer_count`), at the narrowest clean cut within STEM_CUT_WINDOW layers:
    (cut layer name, stem: 0..255 image -> the cut's activations, top: those activations ->
    pooled features). Both share `features`' layers, so training the top trains the extractor.
    The stem holds only frozen layers."""
    core = features.get_layer(CORE_NAME)
    boundary = len(core.layers) - fine_tune_layer_count(features, trainable_layers) - 1  # index of the highest frozen layer
    if boundary <= 0:
        cut = 0  # everything trains: the stem is the normalisation alone
    else:
        candidates = [i for i in range(boundary, max(0, boundary - STEM_CUT_WINDOW) - 1, -1) if _cuts_cleanly(core, i)]
        # Smallest activation wins (a smaller cache); among equals, the highest (less to recompute).
        cut = min(candidates, key=lambda i: (int(np.prod(core.layers[i].output.shape[1:])), -i), default=0)
    inputs = keras.Input(shape=features.input.shape[1:], name="image")
    normalised = features.get_layer(NORMALISE_NAME)(inputs)
    cut_layer = core.layers[cut]
    if cut == 0:
        return cut_layer.name, keras.Model(inputs, normalised, name="stem"), core
    stem = keras.Model(inputs, keras.Model(core.input, cut_layer.output)(normalised), name="stem")
    return cut_layer.name, stem, keras.Model(cut_layer.output, core.output, name="top")


def unfreeze_top(features: keras.Model, layers: int | None, from_scratch: bool = False) -> int:
    """Make the top `layers` backbone layers trainable (None: the default share,
    `fine_tune_layer_count`). BatchNorm stays frozen on pretrained
    weights (small batches would wreck its statistics); `from_scratch` (no pretrained weights)
    trains it too, with faster-moving statistics. Returns how many weight-carrying layers were
    unfrozen."""
    core = features.get_layer(CORE_NAME)
    core.trainable = True
    cut = max(0, len(core.layers) - fine_tune_layer_count(features, layers))
    unfrozen = 0
    for index, layer in enumerate(core.layers):
        is_norm = isinstance(layer, keras.layers.BatchNormalization)
        layer.trainable = index >= cut and (from_scratch or not is_norm)
        if is_norm and layer.trainable:
            layer.momentum = SCRATCH_BATCH_NORM_MOMENTUM
        unfrozen += bool(layer.trainable and layer.weights)
    return unfrozen
