"""`export_bundle`: a training run -> a model bundle the Pi loads.

Converts the run's best checkpoint to float32 and int8 TFLite, evaluates both on the run's
TEST split with the device's own `Classifier` (the code the Pi runs), refuses an int8 model
that loses more than a point unless forced, calibrates the reject threshold on the
VALIDATION split with the int8 model, and writes the bundle with its metadata.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from device.classifier.bundle import Bundle, BundleMetadata, write_bundle
from device.classifier.classifier import Classifier
from device.vision.crop import PREPROCESSING_VERSION
from trainer.data.colours import part_colours
from trainer.data.dataset import dataset_fingerprint, load_dataset
from trainer.data.split import Split
from trainer.tflite.convert import REPRESENTATIVE_IMAGES, representative_items, to_tflite
from trainer.export.gate import MAX_INT8_DROP_POINTS, check_int8_accuracy
from trainer.export.threshold import ThresholdRule, fused_view_sets, reject_threshold
from trainer.train.bottlenecks import Crops, load_crops
from trainer.train.checkpoint import BEST_WEIGHTS
from trainer.train.config import TrainConfig
from trainer.train.model import build_classifier_to_load
from trainer.train.run import LABELS_FILE, PART_COLOURS_FILE, SPLIT_FILE

MODEL_FILES = {"int8": "model.tflite", "float32": "model_float32.tflite"}


@dataclass(frozen=True)
class ExportConfig:
    """Export choices beyond the run's own config."""

    representative_images: int = REPRESENTATIVE_IMAGES  # training crops that set int8 activation ranges
    views: int = 3  # views per brick the sorter fuses (`bricksort sort --views`): the threshold is calibrated on those
    # The model the device runs unless told otherwise; "float32" ships a model whose int8
    # conversion lost too much (the int8 file is still in the bundle, and the gate is moot).
    device_model: str = "int8"
    max_int8_drop_points: float = MAX_INT8_DROP_POINTS
    threshold: ThresholdRule = field(default_factory=ThresholdRule)

    def __post_init__(self) -> None:
        if self.representative_images < 1:
            raise ValueError(f"representative_images must be >= 1, got {self.representative_images}")
        if not 1 <= self.views <= 36:
            raise ValueError(f"views must be between 1 and 36, got {self.views}")
        if self.device_model not in ("int8", "float32"):
            raise ValueError(f"device_model must be int8 or float32, got {self.device_model!r}")
        if self.max_int8_drop_points < 0:
            raise ValueError(f"max_int8_drop_points must be >= 0, got {self.max_int8_drop_points}")


def _versions() -> dict[str, str]:
    import keras
    import tensorflow as tf

    from device.classifier.interpreter import find_backend

    return {
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "tflite_backend": find_backend().name,
    }


def _metadata(
    config: TrainConfig, quantization: str, threshold: float, fingerprint: str, metrics: dict, colours: dict[str, dict[str, int]]
) -> BundleMetadata:
    return BundleMetadata(
        input_height=config.input_hw[0],
        input_width=config.input_hw[1],
        backbone=config.backbone,
        alpha=config.alpha,
        quantization=quantization,
        reject_threshold=threshold,
        crop_margin=config.margin,
        preprocessing_version=PREPROCESSING_VERSION,
        models=dict(MODEL_FILES),
        dataset_fingerprint=fingerprint,
        metrics=metrics,
        versions=_versions(),
        part_colours=colours,
        created=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    )


def _part_colours(run_dir: Path, split: Split, config: TrainConfig) -> dict[str, dict[str, int]]:
    """The colours the run's training photos show each part in: as training named them, or
    (a run trained before it did) named now."""
    try:
        return json.loads((run_dir / PART_COLOURS_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):  # absent, or damaged: name them again
        return part_colours(split.train, config.crop_facts_dir)


def _accuracy(classifier: Classifier, crops: Crops) -> tuple[float, np.ndarray]:
    probabilities = classifier.probabilities(list(crops.images))
    return float((probabilities.argmax(axis=1) == crops.labels).mean()), probabilities


def calibration_decisions(val: Crops, probabilities: np.ndarray, views: int) -> tuple[np.ndarray, np.ndarray, int]:
    """The validation decisions the sorter will make, as (probabilities, labels, views fused):
    every evenly spaced `views`-view set of one session fused, where the data has sessions of
    numbered views (the captures layout); single images otherwise."""
    stems = [item.path.stem for item in val.items]
    if views > 1 and all(stem.isdigit() for stem in stems):
        fused, labels = fused_view_sets([item.group for item in val.items], [int(s) for s in stems], probabilities, val.labels, views)
        if len(fused):
            return fused, labels, views
    return probabilities, val.labels, 1


def read_run(run_dir: Path) -> tuple[TrainConfig, list[str], Split]:
    """The config, class list and split of a finished training run."""
    run_dir = Path(run_dir)
    config = TrainConfig.load(run_dir)
    if not (run_dir / BEST_WEIGHTS).is_file():
        raise FileNotFoundError(f"{run_dir} has no {BEST_WEIGHTS}: the run has not finished an epoch")
    saved = json.loads((run_dir / LABELS_FILE).read_text(encoding="utf-8"))
    classes = [label for label, _ in sorted(saved.items(), key=lambda kv: kv[1])]
    return config, classes, Split.load(run_dir / SPLIT_FILE, config.data_root)


def export_bundle(
    run_dir: Path | str, out_dir: Path | str, force: bool = False, export: ExportConfig = ExportConfig()
) -> Bundle:
    """Write the bundle of run `run_dir` to `out_dir` and return it loaded. Raises
    Int8AccuracyLossError (writing nothing) when int8 loses too much and `force` is False."""
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise FileExistsError(f"bundle folder {out_dir} already exists and is not empty: choose another --out")
    config, classes, split = read_run(Path(run_dir))
    # The checkpoint holds every weight: a run exports on a machine that never downloaded or
    # kept the backbone's starting weights.
    model, _, _ = build_classifier_to_load(config, len(classes))
    model.load_weights(Path(run_dir) / BEST_WEIGHTS)
    representative = load_crops(representative_items(split.train, export.representative_images), classes, config, "representative")
    print("converting to TFLite (float32, int8)...")
    converted = to_tflite(model, ("float32", "int8"), list(representative.images))
    models = {MODEL_FILES[q]: data for q, data in converted.items()}
    test = load_crops(split.test, classes, config, "test crops")
    val = load_crops(split.val, classes, config, "val crops")
    if not len(test.items) or not len(val.items):
        raise ValueError(f"run {run_dir}: the test and validation splits need readable images to export")
    fingerprint = dataset_fingerprint(load_dataset(config.data_root))
    colours = _part_colours(Path(run_dir), split, config)
    print(f"part colours: the training photos show {sum(map(len, colours.values()))} part-colour pairs "
          "(kept for the sorter's colour check)")
    with tempfile.TemporaryDirectory(prefix="bricksort-export-") as staging:
        staged = write_bundle(Path(staging), models, classes, _metadata(config, export.device_model, 0.0, fingerprint, {}, colours))
        threads = os.cpu_count() or 1
        classifiers = {q: Classifier(staged, num_threads=threads, quantization=q) for q in ("float32", "int8")}
        float_accuracy, _ = _accuracy(classifiers["float32"], test)
        int8_accuracy, _ = _accuracy(classifiers["int8"], test)
        val_accuracy, val_probabilities = _accuracy(classifiers[export.device_model], val)
    print(f"test accuracy on {len(test.items)} images: float32 {100 * float_accuracy:.2f}%, int8 {100 * int8_accuracy:.2f}%")
    if export.device_model == "int8":
        check_int8_accuracy(float_accuracy, int8_accuracy, force, export.max_int8_drop_points)
    decisions, decision_labels, fused = calibration_decisions(val, val_probabilities, export.views)
    threshold = reject_threshold(decisions, decision_labels, export.threshold)
    accepted = decisions.max(axis=1) >= threshold
    metrics = {
        "test_accuracy_float32": float_accuracy,
        "test_accuracy_int8": int8_accuracy,
        "test_images": len(test.items),
        "device_model": export.device_model,
        "val_accuracy": val_accuracy,  # of the device model
        "val_images": len(val.items),
        # The threshold is calibrated on what the sorter decides: `threshold_views` views fused.
        "threshold_views": fused,
        "val_decisions": len(decisions),
        "val_decision_accuracy": float((decisions.argmax(axis=1) == decision_labels).mean()),
        "val_reject_rate": float(1.0 - accepted.mean()),
        "val_accepted_precision": float((decisions.argmax(axis=1) == decision_labels)[accepted].mean())
        if accepted.any()
        else 0.0,
        "threshold_rule": {"target_precision": export.threshold.target_precision, "floor_percentile": export.threshold.floor_percentile},
        "skipped_images": test.skipped + val.skipped,
    }
    what = f"{len(decisions)} fused {fused}-view sets" if fused > 1 else f"{len(decisions)} single images"
    print(f"reject threshold {threshold:.3f}, calibrated on {what} of the validation split: accuracy "
          f"{100 * metrics['val_decision_accuracy']:.1f}%, rejects {100 * metrics['val_reject_rate']:.1f}%, "
          f"precision of the rest {100 * metrics['val_accepted_precision']:.1f}%")
    try:
        return write_bundle(out_dir, models, classes, _metadata(config, export.device_model, threshold, fingerprint, metrics, colours))
    except BaseException:
        shutil.rmtree(out_dir, ignore_errors=True)  # never leave half a bundle behind
        raise
