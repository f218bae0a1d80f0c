"""`run_training`: split, phase 1 (head on cached bottlenecks), optional phase 2 (fine-tune
with augmentation), all written to one run folder:

    runs/<name>/
      config.json  split.json  labels.json     what the run is (export and --resume read them)
      state.json   best.weights.h5             best-by-val-loss checkpoint of the full model
      history.json curves.png tensorboard/<phase>/
      timings.json                             wall time per stage of each invocation
      skipped.json                             unreadable images, listed and left out
      extra-left-out.json                      --extra-train images that repeat a held-out one
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import keras
import numpy as np

from trainer.data.colours import part_colours
from trainer.data.dataset import Dataset, ImageItem, load_dataset
from trainer.data.duplicates import DuplicateConfig
from trainer.data.extra_images import ExtraImages, load_extra_images
from trainer.data.rendered_extra import frame_size_hw, rendered_parts
from trainer.data.split import Split, make_split
from trainer.data.images import UnreadableImageError, read_image_rgb
from trainer.tflite.forward import FrozenForward
from trainer.train.averaging import WeightAverage
from trainer.train.background import InBackground
from trainer.train.bottlenecks import Bottlenecks, calibration_items, compute_bottlenecks, load_crop, load_crops, weights_id
from trainer.train.checkpoint import BEST_HEAD_WEIGHTS, BEST_WEIGHTS, BestCheckpoint, RunState, save_full_best
from trainer.train.config import CONFIG_FILE, TrainConfig
from trainer.train.folding import fold_frozen_batch_norm
from trainer.train.guard import check_training_setup
from trainer.train.history import EpochLog, EpochTensorBoard, plot_curves
from trainer.train.model import (
    FEATURES_NAME,
    HEAD_NAME,
    WeightsDownloadError,
    build_classifier,
    build_classifier_to_load,
    calibrate_batch_norm,
    split_at_stem,
    unfreeze_top,
    with_folded_backbone,
)
from trainer.train.noise_bank import BankedNoise
from trainer.train.optimizer import FusedAdam
from trainer.train.schedule import fine_tune_scheduler
from trainer.train.timings import TIMINGS_FILE, StageTimes

if TYPE_CHECKING:  # int8_stem imports trainer.tflite, which imports this package's model
    import tensorflow as tf

    from trainer.train.int8_stem import Int8Stem

SPLIT_FILE = "split.json"
LABELS_FILE = "labels.json"
SKIPPED_FILE = "skipped.json"
EXTRA_LEFT_OUT_FILE = "extra-left-out.json"
# The colours the training photos show each part in (trainer.data.colours.part_colours), for the
# bundle's colour check: named beside the training, so export need not read every photo again.
PART_COLOURS_FILE = "part_colours.json"
PHASE_HEAD = "phase1"
PHASE_FINE_TUNE = "phase2"


class RunExistsError(ValueError):
    """A new run would overwrite an existing one."""


class UnusableDataError(ValueError):
    """Once unreadable images are left out, a class has nothing to train on or validation is empty."""


@dataclass
class TrainingData:
    """The split of a run, its class list (index = integer label) and the extra images that
    only ever train (`TrainConfig.extra_train`)."""

    dataset: Dataset
    split: Split
    classes: list[str]
    extra: list[ImageItem] = field(default_factory=list)

    @property
    def train_items(self) -> list[ImageItem]:
        """Everything the model fits on: the training side plus the extra images."""
        return self.split.train + self.extra

    def labels(self, items: list[ImageItem]) -> np.ndarray:
        """Integer labels of `items`."""
        index = {name: i for i, name in enumerate(self.classes)}
        return np.array([index[item.label] for item in items], dtype=np.int64)


@dataclass(frozen=True)
class StemPass:
    """Phase 1's pass through the stem (the costly early layers), handed to phase 2 in the same
    process so it neither reads the activations back from the cache nor crops the images again,
    and, where it can, trains phase 1's own classifier on instead of building another."""

    identity: str  # `stem_id` of the stem that made them
    cut: str  # the backbone layer the stem ends at
    top: keras.Model  # the backbone above the cut, sharing `classifier`'s layers
    train: Bottlenecks
    val: Bottlenecks
    forward: FrozenForward  # the stem as it ran (as TFLite: converted once for both phases)
    versions: InBackground[list[np.ndarray]] | None = None  # phase 2's versions of `train`, being made
    classifier: keras.Model | None = None  # phase 1's, at the run's best checkpoint (None: load the checkpoint)


def class_weights(labels: np.ndarray, num_classes: int) -> dict[int, float]:
    """Inverse-frequency weights (mean 1 over the samples) so a rare class counts as much as a common one."""
    counts = np.bincount(labels, minlength=num_classes)
    return {i: float(len(labels) / (num_classes * c)) for i, c in enumerate(counts) if c > 0}


def _leak_free_split(dataset: Dataset, config: TrainConfig) -> Split:
    """Seeded, stratified split that keeps sessions, exact and near-duplicate sets on one side."""
    from trainer.data.link_sets import duplicate_link_sets

    groups = duplicate_link_sets(dataset, config.crop_facts_dir)
    return make_split(dataset, config.seed, config.val_fraction, config.test_fraction, groups=groups)


def _saved_split(dataset: Dataset, source: Path) -> Split:
    """The split saved at `source` (a split.json or a run folder), checked against the data."""
    path = source if source.is_file() else source / SPLIT_FILE
    split = Split.load(path, dataset.root)
    if split.classes != dataset.classes:
        raise ValueError(f"{path} splits classes {split.classes}, but {dataset.root} has {dataset.classes}")
    print(f"split from {path} (seed {split.seed}), not made anew")
    return split


def prepare_run(config: TrainConfig) -> TrainingData:
    """Create (or, with `resume`, reopen) the run folder and its split; returns the data."""
    run_dir = config.run_dir
    dataset = load_dataset(config.data_root)
    if dataset.missing:
        print(f"note: left out {len(dataset.missing)} image(s) listed or linked in {dataset.root} but not there, "
              f"e.g. {dataset.relative_path(dataset.missing[0])} (`bricksort audit` lists them all)")
    if config.resume:
        if not (run_dir / SPLIT_FILE).is_file():
            raise FileNotFoundError(f"cannot resume: {run_dir} has no {SPLIT_FILE} (not a bricksort run?)")
        split = Split.load(run_dir / SPLIT_FILE, dataset.root)
        saved = json.loads((run_dir / LABELS_FILE).read_text(encoding="utf-8"))
        classes = [label for label, _ in sorted(saved.items(), key=lambda kv: kv[1])]
        if classes != dataset.classes:
            raise ValueError(f"cannot resume: {config.data_root} has classes {dataset.classes}, the run {classes}")
        extra = _extra_training_items(config, split)
        _save_left_out(config, split.root, extra)
        return TrainingData(dataset, split, classes, extra.items)
    if run_dir.resolve() == dataset.root or dataset.root in run_dir.resolve().parents:
        raise ValueError(f"run folder {run_dir} is inside the data folder {dataset.root}: it would become a class")
    if (run_dir / "state.json").exists() or (run_dir / SPLIT_FILE).exists():
        raise RunExistsError(f"run folder {run_dir} already holds a run: pick another name or resume it")
    if run_dir.is_dir() and any(run_dir.iterdir()):
        raise RunExistsError(f"run folder {run_dir} is not empty and holds no run: pick another name (nothing there is touched)")
    if run_dir.exists() and not run_dir.is_dir():
        raise RunExistsError(f"run folder {run_dir} is a file: pick another name")
    split = _saved_split(dataset, config.split_from) if config.split_from else _leak_free_split(dataset, config)
    print("\n".join(split.summary()))
    for side in ("train", "val"):
        if not split.side(side):
            raise ValueError(f"the {side} split is empty: {config.data_root} has too few images or groups")
    extra = _extra_training_items(config, split)  # checked before anything is written
    run_dir.mkdir(parents=True, exist_ok=True)
    split.save(run_dir / SPLIT_FILE)
    _save_left_out(config, split.root, extra)
    (run_dir / LABELS_FILE).write_text(
        json.dumps({label: i for i, label in enumerate(dataset.classes)}, indent=2), encoding="utf-8"
    )
    config.save(run_dir)
    return TrainingData(dataset, split, list(dataset.classes), extra.items)


def _extra_training_items(config: TrainConfig, split: Split) -> ExtraImages:
    """The images of `config.extra_train` and the rendered bricks (`config.synth_bricks`) that
    may train (see trainer.data.extra_images)."""
    folders = [*config.extra_train, *_rendered_folders(config, split)]
    extra = load_extra_images(folders, split.classes, split.val + split.test, config.crop_facts_dir)
    if extra.left_out:
        first = extra.left_out[0]
        print(
            f"left out {len(extra.left_out)} extra training image(s) whose brick crop repeats a validation or test "
            f"image of the same part (crop similarity >= {DuplicateConfig().near_threshold:g}), e.g. {first.extra.path} ~ "
            f"{first.held_out.path} ({first.score:.3f}); listed in {EXTRA_LEFT_OUT_FILE}"
        )
    if extra.items:
        print(f"extra training images: {len(extra.items)} from {len(folders)} folder(s), training side only")
    return extra


def _rendered_folders(config: TrainConfig, split: Split) -> tuple[Path, ...]:
    """Rendered captures roots for the parts the simulator knows (none when synth_bricks is 0)."""
    if config.synth_bricks == 0:
        return ()
    size_hw = frame_size_hw(split.train)
    rendered = rendered_parts(
        split.classes, config.synth_bricks, config.synth_views, size_hw, config.renders_dir,
        facts_cache=config.crop_facts_dir,  # the held-out check's (_extra_training_items)
    )
    if rendered.folders:
        print(
            f"rendered bricks: {config.synth_bricks} x {config.synth_views} views of {len(rendered.folders)} part(s) at "
            f"{size_hw[0]}x{size_hw[1]} (cached under {rendered.folders[0].parent})"
        )
    if rendered.missing:
        shown = ", ".join(rendered.missing[:8]) + (" ..." if len(rendered.missing) > 8 else "")
        print(f"no renders for {len(rendered.missing)} part(s) the simulator does not know: {shown}")
    return rendered.folders


def _save_left_out(config: TrainConfig, root: Path, extra: ExtraImages) -> None:
    """For a run with extra folders, list the left-out extra images (absolute paths: they live
    outside the data) beside the held-out image each repeats (relative to the data root, as in
    split.json)."""
    if not config.extra_train and not config.synth_bricks:
        return
    entries = [
        {"extra": twin.extra.path.as_posix(), "held_out": twin.held_out.path.relative_to(root).as_posix(), "crop_similarity": round(twin.score, 4)}
        for twin in extra.left_out
    ]
    (config.run_dir / EXTRA_LEFT_OUT_FILE).write_text(json.dumps(entries, indent=1), encoding="utf-8")


def _callbacks(checkpoint: BestCheckpoint, config: TrainConfig, state: RunState, phase: str, epochs: int) -> list:
    done = state.epochs_done.get(phase, 0)
    return [
        checkpoint,
        EpochLog(config.run_dir, phase, epochs, done),
        EpochTensorBoard(log_dir=str(config.run_dir / "tensorboard" / phase)),
    ]


def _loss() -> keras.losses.Loss:
    return keras.losses.SparseCategoricalCrossentropy()


def _prepare_extractor(
    model: keras.Model, features: keras.Model, head: keras.Model, data: TrainingData, config: TrainConfig
) -> str:
    """Restore the run's best weights (resume) or, for a random backbone, calibrate its
    BatchNorm on training crops. Returns the extractor's identity for the bottleneck cache."""
    calibration = None
    if config.weights == "none":
        calibration = [item for item in calibration_items(data.split.train) if _readable(item)]
    if (config.run_dir / BEST_WEIGHTS).is_file():
        model.load_weights(config.run_dir / BEST_WEIGHTS)
    elif calibration is not None:
        crops = np.stack([load_crop(item, config.input_hw, config.margin) for item in calibration])
        calibrate_batch_norm(features, crops)
    if (config.run_dir / BEST_HEAD_WEIGHTS).is_file():  # newer than the full checkpoint if phase 1 was cut short
        head.load_weights(config.run_dir / BEST_HEAD_WEIGHTS)
    return weights_id(config, calibration)


def _readable(item: ImageItem) -> bool:
    try:
        read_image_rgb(item.path)
    except UnreadableImageError:
        return False
    return True


def _head_features(
    data: TrainingData, features: keras.Model, config: TrainConfig, extractor_id: str
) -> tuple[Bottlenecks, Bottlenecks, StemPass | None]:
    """Phase 1's pooled features of the training and validation items. When a cached phase 2
    follows, they are its stem activations (cached) run through the top layers: one pass of
    the costly early layers then serves both phases, and it is returned for phase 2."""
    sides = (data.train_items, data.split.val)
    if not (config.fine_tune_epochs and config.fine_tune_input == "cached"):
        forward = FrozenForward(features, expected_inputs=sum(map(len, sides)))
        train, val = (compute_bottlenecks(items, forward, config, extractor_id) for items in sides)
        return train, val, None
    from trainer.train.stem import pooled_features, stem_id

    cut, stem, top = split_at_stem(features, config.fine_tune_layers)
    identity = stem_id(cut, stem)
    expected = sum(map(len, sides))
    stem_forward, top_forward = FrozenForward(stem, expected), FrozenForward(top, expected)
    train = compute_bottlenecks(sides[0], stem_forward, config, identity, keep_crops=_phase_2_crops_images(config))
    val = compute_bottlenecks(sides[1], stem_forward, config, identity)
    train_pooled, val_pooled = (
        replace(side, features=pooled_features(side, top, top_forward, config, identity), crops=None) for side in (train, val)
    )
    return train_pooled, val_pooled, StemPass(identity, cut, top, train, val, stem_forward)


def _phase_2_crops_images(config: TrainConfig) -> bool:
    """Whether a cached phase 2 needs the training crops: its augmented copies and its int8
    version are made from them (so a pass that cuts them keeps them)."""
    return bool(config.augment_copies or config.int8_aware)


def train_head(
    data: TrainingData, config: TrainConfig, state: RunState, times: StageTimes
) -> tuple[list[ImageItem], StemPass | None]:
    """Phase 1: fit the head on cached bottleneck features. Returns the unreadable items and,
    when a cached phase 2 follows, the stem's pass for it."""
    # Resuming, the run's checkpoint replaces every weight: no need for the starting ones.
    build = build_classifier_to_load if (config.run_dir / BEST_WEIGHTS).is_file() else build_classifier
    model, features, head = build(config, len(data.classes))
    extractor_id = _prepare_extractor(model, features, head, data, config)
    with times.stage("phase 1 features"):
        train, val, stem_pass = _head_features(data, features, config, extractor_id)
    skipped = train.skipped + val.skipped
    _check_usable(data, train.items, val.items, skipped)
    _write_skipped(config.run_dir, data.split.root, skipped)
    y_train, y_val = data.labels(train.items), data.labels(val.items)
    if stem_pass is not None:
        stem_pass = replace(stem_pass, versions=_versions_in_background(model, data, config, stem_pass))
    # Many small steps: one graph call an epoch gives the same weights as one call a step,
    # without Python's cost per step (a fifth of phase 1 here).
    head.compile(
        optimizer=FusedAdam(config.learning_rate), loss=_loss(), metrics=["accuracy"],
        steps_per_execution=max(1, math.ceil(len(y_train) / config.batch_size)),
    )
    check_training_setup(head, y_train, len(data.classes), head.loss)
    # Saving the whole model per better epoch costs ~1 s; the head alone is instant, and
    # the full checkpoint is written once when the phase ends.
    checkpoint = BestCheckpoint(head, config.run_dir, state, PHASE_HEAD, BEST_HEAD_WEIGHTS)
    callbacks = _callbacks(checkpoint, config, state, PHASE_HEAD, config.epochs)
    callbacks.append(keras.callbacks.EarlyStopping(patience=config.patience))
    with times.stage("phase 1 fit"):
        head.fit(
            train.features,
            y_train,
            validation_data=(val.features, y_val),
            batch_size=config.batch_size,
            epochs=config.epochs,
            initial_epoch=state.epochs_done.get(PHASE_HEAD, 0),
            class_weight=class_weights(y_train, len(data.classes)) if config.class_weights else None,
            callbacks=callbacks,
            verbose=0,
        )
    if checkpoint.improved:
        head.load_weights(config.run_dir / BEST_HEAD_WEIGHTS)
        save_full_best(model, config.run_dir)
        if stem_pass is not None:  # `model` is now the best checkpoint, exactly
            stem_pass = replace(stem_pass, classifier=model)
    state.finish(PHASE_HEAD, config.run_dir)
    return [item for item, _ in skipped], stem_pass


def fine_tune(
    data: TrainingData,
    config: TrainConfig,
    state: RunState,
    unreadable: set[Path],
    strategy: tf.distribute.Strategy,
    times: StageTimes,
    stem_pass: StemPass | None = None,
) -> None:
    """Phase 2: unfreeze the backbone's top layers and fit them with the head, starting from the
    best checkpoint, on cached stem activations (`stem_pass`, phase 1's, when it matches) or on
    freshly augmented images (`config.fine_tune_input`); under `strategy`, in mixed precision
    where hardware allows."""
    from trainer.train.multi_worker_fit import multi_worker_fit
    from trainer.train.strategy import mixed_precision_policy

    train_items = [item for item in data.train_items if item.path not in unreadable]
    val_items = [item for item in data.split.val if item.path not in unreadable]
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(mixed_precision_policy())
    try:
        with strategy.scope():
            model, features = _starting_classifier(config, len(data.classes), strategy, stem_pass)
            unfreeze_top(features, config.fine_tune_layers, from_scratch=config.weights == "none")
            with times.stage("phase 2 inputs"):
                if config.fine_tune_input == "cached":
                    inputs = _stem_inputs(model, features, data, config, train_items, val_items, stem_pass)
                else:
                    inputs = _image_inputs(model, data, config, train_items, val_items)
            trained = inputs.model
            trained.compile(
                optimizer=FusedAdam(config.fine_tune_learning_rate), loss=_loss(), metrics=["accuracy"]
            )
        check_training_setup(trained, inputs.labels, len(data.classes), trained.loss)
        checkpoint = BestCheckpoint(model, config.run_dir, state, PHASE_FINE_TUNE)
        # BatchNorm trains from scratch, and an average of its weights would need new statistics.
        average = config.fine_tune_average and config.weights != "none"
        with multi_worker_fit(strategy), times.stage("phase 2 fit"):
            trained.fit(
                inputs.train,
                validation_data=inputs.val,
                steps_per_epoch=inputs.steps_per_epoch,
                epochs=config.fine_tune_epochs,
                shuffle=False,  # both inputs shuffle themselves
                initial_epoch=state.epochs_done.get(PHASE_FINE_TUNE, 0),
                callbacks=[
                    # First, so each epoch's learning rate is in the logs the history saves.
                    fine_tune_scheduler(config.fine_tune_epochs, config.fine_tune_learning_rate, config.fine_tune_schedule),
                    *_callbacks(checkpoint, config, state, PHASE_FINE_TUNE, config.fine_tune_epochs),
                    *([WeightAverage(checkpoint, config.fine_tune_epochs // 2, inputs.val)] if average else []),
                ],
                verbose=0,
            )
        state.finish(PHASE_FINE_TUNE, config.run_dir)
    finally:
        keras.config.set_dtype_policy(previous)


def _starting_classifier(
    config: TrainConfig, num_classes: int, strategy: tf.distribute.Strategy, stem_pass: StemPass | None
) -> tuple[keras.Model, keras.Model]:
    """(the classifier phase 2 starts from, at the run's best checkpoint; its feature extractor).
    Phase 1's own when it handed one over and its variables suit phase 2 here (one replica,
    float32: a CPU), with its noise drawn from the start again as in a new build: the same
    weights come out, without building and loading another (~2 s). Else built and loaded."""
    handed = stem_pass.classifier if stem_pass else None
    if handed is None or strategy.num_replicas_in_sync != 1 or keras.config.dtype_policy().name != "float32":
        model, features, _ = build_classifier_to_load(config, num_classes)
        model.load_weights(config.run_dir / BEST_WEIGHTS)
        return model, features
    for layer in handed.get_layer(HEAD_NAME).layers:
        if isinstance(layer, BankedNoise):
            layer.restart()
    return handed, handed.get_layer(FEATURES_NAME)


@dataclass(frozen=True)
class FineTuneInputs:
    """What phase 2 fits: `model` on `train` (`steps_per_epoch` batches an epoch, None: until
    the data ends), validated on `val`; `labels` are the training labels."""

    model: keras.Model
    train: object  # a tf.data.Dataset
    val: object  # a tf.data.Dataset or (inputs, labels)
    labels: np.ndarray
    steps_per_epoch: int | None = None


def _image_inputs(
    model: keras.Model, data: TrainingData, config: TrainConfig, train_items: list[ImageItem], val_items: list[ImageItem]
) -> FineTuneInputs:
    """The whole model, trained on images decoded, cropped and augmented every epoch, with its
    backbone's frozen BatchNorm folded (the same function and variables, in less time)."""
    from trainer.train.pipeline import image_dataset

    y_train, y_val = data.labels(train_items), data.labels(val_items)
    weights = class_weights(y_train, len(data.classes)) if config.class_weights else None
    train = image_dataset(train_items, y_train, config, training=True, class_weight=weights)
    trained, _ = with_folded_backbone(model)
    return FineTuneInputs(trained, train, image_dataset(val_items, y_val, config, training=False), y_train)


def _stem_inputs(
    model: keras.Model,
    features: keras.Model,
    data: TrainingData,
    config: TrainConfig,
    train_items: list[ImageItem],
    val_items: list[ImageItem],
    stem_pass: StemPass | None,
) -> FineTuneInputs:
    """The top layers and the head, trained on cached stem activations (trainer.train.stem):
    `stem_pass`'s when it is of this stem and these images, else read from the cache."""
    from trainer.train.stem import VersionBatches, stem_id, training_versions

    if stem_pass and stem_pass.classifier is model:  # phase 1's own layers, cut as phase 1 cut them
        cut, top, identity = stem_pass.cut, stem_pass.top, stem_pass.identity
    else:
        cut, stem, top = split_at_stem(features, config.fine_tune_layers)
        identity = stem_id(cut, stem)
    if stem_pass and (stem_pass.identity, stem_pass.train.items, stem_pass.val.items) == (identity, train_items, val_items):
        train, val = stem_pass.train, stem_pass.val
        versions = stem_pass.versions.result()
    else:
        stem_forward = FrozenForward(stem, expected_inputs=len(val_items) + (1 + config.augment_copies) * len(train_items))
        train = compute_bottlenecks(train_items, stem_forward, config, identity, keep_crops=_phase_2_crops_images(config))
        val = compute_bottlenecks(val_items, stem_forward, config, identity)
        int8 = _int8_stem(model, data, config, train, identity) if config.int8_aware else None
        versions = training_versions(train, stem_forward, config, identity, int8)
    train.crops = None  # they have served: ~0.6 GB for turntable-10 with its renders, freed before the fit
    y_train, y_val = data.labels(train.items), data.labels(val.items)
    shape = versions[0].shape[1:]
    print(f"phase 2 trains above {cut} on cached activations {shape}: {len(versions)} version(s) of each training image")
    weights = class_weights(y_train, len(data.classes)) if config.class_weights else None
    activations = keras.Input(shape=shape, name="activations")
    top, _ = fold_frozen_batch_norm(top)  # the same function and variables, in less time
    trained = keras.Model(activations, model.get_layer(HEAD_NAME)(top(activations)), name="top_and_head")
    batches = VersionBatches(versions, y_train, config.batch_size, config.seed, weights)
    return FineTuneInputs(trained, batches.dataset(), (val.features, y_val), y_train, steps_per_epoch=len(batches))


def _versions_in_background(
    model: keras.Model, data: TrainingData, config: TrainConfig, stem_pass: StemPass
) -> InBackground[list[np.ndarray]]:
    """Phase 2's versions of the training images (`trainer.train.stem.training_versions`),
    made in a thread while the head fits: they need only the frozen stem, and phase 1's fit
    keeps about one core of two busy. A cold run on turntable-10 here reached phase 2 ~7 s
    sooner (62.9-63.6 s against 70.0-71.5 s side by side), with the same weights."""
    from trainer.train.stem import training_versions

    int8 = _int8_stem(model, data, config, stem_pass.train, stem_pass.identity) if config.int8_aware else None
    print("phase 2's versions of the training images are made beside phase 1's fit")
    return InBackground(
        lambda: training_versions(stem_pass.train, stem_pass.forward, config, stem_pass.identity, int8), "phase 2 versions"
    )


def _int8_stem(model: keras.Model, data: TrainingData, config: TrainConfig, train: Bottlenecks, identity: str) -> Int8Stem:
    """How to quantise the stem (`identity`) as export will: its representative crops, from
    this split, and a float32 copy of `model`. The copy is made here, in the calling thread,
    and only when the cache lacks the int8 version of `train`."""
    from trainer.tflite.convert import representative_items
    from trainer.train.int8_stem import Int8Stem, float32_copy, int8_stem_tflite, int8_version_file

    calibration = representative_items(data.split.train)
    cached = int8_version_file(train.sha256s, calibration, config, identity).is_file()
    copy = None if cached else float32_copy(model, config, len(data.classes))

    def build() -> bytes:
        representative = load_crops(calibration, data.classes, config, "representative").images
        # No copy: the cached file proved unreadable, so it is made where `build` runs.
        return int8_stem_tflite(copy if copy is not None else float32_copy(model, config, len(data.classes)), config, representative)

    return Int8Stem(calibration, build)


def _forget_new_run(run_dir: Path) -> None:
    """Remove what `prepare_run` wrote for a run that never got its backbone or usable data, so
    the same command works once the weights or the files are there. Anything else in the folder (a trained epoch,
    a user's file) keeps it all as it is."""
    written = {SPLIT_FILE, LABELS_FILE, CONFIG_FILE, EXTRA_LEFT_OUT_FILE}
    if {path.name for path in run_dir.iterdir()} <= written:
        for name in written:
            (run_dir / name).unlink(missing_ok=True)
        run_dir.rmdir()


def _check_usable(data: TrainingData, train: list[ImageItem], val: list[ImageItem], skipped: list[tuple[ImageItem, str]]) -> None:
    """UnusableDataError, naming the unreadable files, when what is left cannot train or validate."""
    present = {item.label for item in train}
    empty = [label for label in data.classes if label not in present]
    problems = [f"class {label} has no readable training image" for label in empty]
    if not val:
        problems.append("the validation split has no readable image")
    if problems:
        listed = "; ".join(reason for _, reason in skipped[:5]) + (f"; and {len(skipped) - 5} more" if len(skipped) > 5 else "")
        raise UnusableDataError(f"{', '.join(problems)} ({len(skipped)} unreadable: {listed}); fix or remove those files")


def _write_skipped(run_dir: Path, root: Path, skipped: list[tuple[ImageItem, str]]) -> None:
    # Extra training images live outside the data root: their paths stay absolute.
    entries = [
        {"path": (item.path.relative_to(root) if item.path.is_relative_to(root) else item.path).as_posix(), "reason": reason}
        for item, reason in skipped
    ]
    (run_dir / SKIPPED_FILE).write_text(json.dumps(entries, indent=1), encoding="utf-8")
    for entry in entries:
        print(f"skipped unreadable image: {entry['reason']}")


def _read_skipped(run_dir: Path, root: Path) -> set[Path]:
    path = run_dir / SKIPPED_FILE
    if not path.is_file():
        return set()
    return {(root / entry["path"]).resolve() for entry in json.loads(path.read_text(encoding="utf-8"))}


def run_training(config: TrainConfig) -> Path:
    """Train (or resume) the run `config.run_dir` and return the folder this machine wrote:
    `config.run_dir`, or on a worker other than the chief its own folder beside it
    (`trainer.train.strategy.worker_run_dir`)."""
    from trainer.train.strategy import distribution_strategy, worker_run_dir

    strategy = distribution_strategy()  # first: several workers must set up before TensorFlow runs
    run_dir = worker_run_dir(config.run_dir)
    if run_dir != config.run_dir:
        print(f"this worker is not the chief: it writes its copy of the run to {run_dir}")
        config = replace(config, run_dir=run_dir)
    times = StageTimes()
    with times.stage("split and data"):
        data = prepare_run(config)
    # The data folder's training photos only: renders and extra images come in every colour.
    colours = InBackground(lambda: part_colours(data.split.train, config.crop_facts_dir), "part colours")
    try:
        _train_phases(data, config, strategy, times)
    except (WeightsDownloadError, UnusableDataError):
        if not config.resume:
            _forget_new_run(config.run_dir)
        raise
    _save_part_colours(config.run_dir, colours)
    plot_curves(config.run_dir)
    times.save(config.run_dir)
    print(f"trained in {times.summary()} (kept in {config.run_dir / TIMINGS_FILE})")
    return config.run_dir


def _save_part_colours(run_dir: Path, colours: InBackground[dict[str, dict[str, int]]]) -> None:
    """Write the part colours named beside the training; if naming them failed, say so and
    leave them to export (which names them itself when the file is missing), the training kept."""
    try:
        named = colours.result()
    except Exception as error:  # whatever it was, the trained model is worth more
        print(f"warning: the training photos' colours could not be named ({type(error).__name__}: {error}); "
              f"`bricksort export` will name them")
        return
    (run_dir / PART_COLOURS_FILE).write_text(json.dumps(named, indent=1), encoding="utf-8")


def _train_phases(data: TrainingData, config: TrainConfig, strategy: tf.distribute.Strategy, times: StageTimes) -> None:
    state = RunState.load(config.run_dir)
    stem_pass = None
    if state.needs(PHASE_HEAD, config.epochs):
        skipped, stem_pass = train_head(data, config, state, times)
        unreadable = {item.path for item in skipped}
    else:
        unreadable = _read_skipped(config.run_dir, data.split.root)
    # Phase 2 has no early stopping, so a finished phase 2 ran all its epochs and a resume that
    # asks for more continues it (phase 1 never reruns after it: its cached features come from
    # the backbone phase 2 has changed since).
    if state.epochs_done.get(PHASE_FINE_TUNE, 0) < config.fine_tune_epochs:
        fine_tune(data, config, state, unreadable, strategy, times, stem_pass)
