"""One tiny real training run (and its bundle) per test session, shared by the trainer's
train/export/evaluate tests: generated shape photos, a random-init MobileNetV2 at 32x32."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from tiny_brick_photos import write_class_folders

CLASSES = ("2x4", "1x1", "slope")
CORRUPT_NAME = "corrupt.jpg"
PER_CLASS = 12


def tiny_dataset(root: Path) -> Path:
    """36 good photos in 3 classes plus one corrupt JPEG (header only)."""
    if not root.is_dir():
        write_class_folders(root, per_class=PER_CLASS, classes=CLASSES)
        (root / "1x1" / CORRUPT_NAME).write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00")
    return root


def tiny_config(base: Path, name: str = "run", **overrides):
    """Config of a fast run: weights none, 32x32 input, few epochs, cache inside `base`."""
    from trainer.train.config import TrainConfig

    config = TrainConfig(
        data_root=tiny_dataset(base / "data"),
        run_dir=base / "runs" / name,
        weights="none",
        input_hw=(32, 32),
        epochs=12,
        fine_tune_epochs=0,  # head only; the fine-tuning tests ask for phase 2
        batch_size=8,
        learning_rate=3e-3,
        hidden_units=0,  # a linear head: ~27 training images cannot feed more
        feature_noise=0.0,
        dropout=0.2,
        patience=50,
        cache_dir=base / "cache" / "bottlenecks",
        int8_aware=False,  # ~25 s of int8 conversion per fine-tuning run; its own tests turn it on
    )
    return replace(config, **overrides)


def trained_run(base: Path) -> Path:
    """The session's tiny run folder, trained on first use."""
    from trainer.train import run_training

    config = tiny_config(base)
    if not (config.run_dir / "state.json").is_file():
        run_training(config)
    return config.run_dir


def exported_bundle(base: Path) -> Path:
    """The session's tiny bundle (exported with force: the gate has its own tests)."""
    from trainer.export import export_bundle

    out = base / "bundles" / "tiny"
    if not (out / "metadata.json").is_file():
        export_bundle(trained_run(base), out, force=True)
    return out


def calibrated_tiny_classifier(config):
    """(model, crops): a random-init classifier of `config` (32x32 input) and 24 turntable-like
    crops (a bright plain table, one darker brick, so layers see a large mean input), its
    BatchNorm calibrated on them so that activations are of a usable size."""
    import numpy as np

    from trainer.train.model import FEATURES_NAME, build_classifier, calibrate_batch_norm

    model, features, _ = build_classifier(config, 3)
    rng = np.random.default_rng(1)
    crops = np.full((24, 32, 32, 3), 210, np.uint8)
    for crop in crops:
        top, left = rng.integers(4, 16, size=2)
        crop[top : top + 12, left : left + 12] = rng.integers(0, 120, size=3)
    calibrate_batch_norm(features, crops)
    assert model.get_layer(FEATURES_NAME) is features
    return model, crops


def calibrated_backbone_file(base: Path) -> Path:
    """`base/backbone.weights.h5`: a calibrated random MobileNetV2 backbone to train from as a
    weights FILE, so BatchNorm stays frozen and the weight average runs, as with ImageNet weights."""
    from trainer.train.model import CORE_NAME, FEATURES_NAME

    path = base / "backbone.weights.h5"
    model, _ = calibrated_tiny_classifier(tiny_config(base, name="backbone", weights="none"))
    model.get_layer(FEATURES_NAME).get_layer(CORE_NAME).save_weights(path)
    return path


def run_crops(run_dir: Path):
    """Every readable image of a run's data as the device crops it, with the run's config (`Crops`)."""
    from trainer.data.dataset import load_dataset
    from trainer.export.export import read_run
    from trainer.train.bottlenecks import load_crops

    config, classes, _ = read_run(run_dir)
    return load_crops(load_dataset(config.data_root).items, classes, config, "crops")


def bundle_predictions(run_dir: Path, bundle_dir: Path, crops):
    """(Keras, float TFLite, int8 TFLite) probabilities of `crops`: the run's best checkpoint and
    the bundle exported from it, the TFLite models through the device's `Classifier`."""
    import numpy as np

    from device.classifier.classifier import Classifier
    from trainer.export.export import read_run
    from trainer.train.model import build_classifier_to_load

    config, classes, _ = read_run(run_dir)
    model, _, _ = build_classifier_to_load(config, len(classes))
    model.load_weights(run_dir / "best.weights.h5")
    keras_p = model.predict(crops.images.astype(np.float32), verbose=0)
    float_p = Classifier(bundle_dir, quantization="float32").probabilities(list(crops.images))
    int8_p = Classifier(bundle_dir, quantization="int8").probabilities(list(crops.images))
    return keras_p, float_p, int8_p
