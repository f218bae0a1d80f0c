"""Phase 2 on cached stem activations: the stem and top are the extractor cut in two, the
cache is keyed by what made it, every epoch shows each image once, and a run trains only
the layers above the cut."""
from __future__ import annotations

import json
from pathlib import Path
from dataclasses import replace

import numpy as np
import pytest

from tiny_training import tiny_config
from trainer.tflite.forward import FrozenForward
from trainer.train.config import TrainConfig
from trainer.train.model import CORE_NAME, build_feature_extractor, fine_tune_layer_count, split_at_stem, unfreeze_top


@pytest.fixture(scope="module")
def features(tmp_path_factory):
    """A random-init MobileNetV2 0.35 at 96x96 (BatchNorm at identity: outputs stay finite)."""
    root = tmp_path_factory.mktemp("stem")
    return build_feature_extractor(TrainConfig(root, root / "run", input_hw=(96, 96), weights="none"))


def _images(count: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 255, (count, 96, 96, 3)).astype(np.float32)


@pytest.mark.parametrize("trainable", [20, 60, 100])
def test_stem_then_top_is_the_extractor_cut_below_the_trainable_layers(features, trainable):
    cut, stem, top = split_at_stem(features, trainable)
    layers = [layer.name for layer in features.get_layer(CORE_NAME).layers]
    cut_index = layers.index(cut)
    assert len(layers) - trainable - 1 - 20 <= cut_index <= len(layers) - trainable - 1
    images = _images(3)
    np.testing.assert_allclose(top(stem(images)).numpy(), features(images).numpy(), rtol=1e-5, atol=1e-6)
    # A clean cut: the activation is one tensor, smaller than the image at these depths.
    assert np.prod(stem.output.shape[1:]) < 96 * 96 * 3


def test_on_mobilenet_v2_the_cut_lands_on_a_block_output(features):
    assert split_at_stem(features, 60)[0] == "block_9_add"  # not inside block 10's wide expansion
    assert split_at_stem(features, 100)[0] == "block_5_add"


def test_by_default_phase_2_trains_the_top_fifth_of_any_backbone(features, tmp_path):
    assert TrainConfig(tmp_path, tmp_path / "run").fine_tune_layers is None
    assert fine_tune_layer_count(features, None) == 30  # of MobileNetV2's 155: the recipe measured best
    assert split_at_stem(features, None)[0] == "block_13_project_BN"  # blocks 14-16 and Conv_1 train
    assert fine_tune_layer_count(features, 7) == 7
    v1 = build_feature_extractor(TrainConfig(tmp_path, tmp_path / "run", backbone="mobilenet", alpha=0.25, input_hw=(96, 96), weights="none"))
    total = len(v1.get_layer(CORE_NAME).layers)
    assert 0 < fine_tune_layer_count(v1, None) == round(total * 30 / 155) < total  # a frozen stem to cache, on V1 too
    assert unfreeze_top(v1, None) == unfreeze_top(v1, fine_tune_layer_count(v1, None))


def test_when_every_layer_trains_the_stem_is_the_normalisation_alone(features):
    cut, stem, top = split_at_stem(features, 10_000)
    images = _images(2)
    np.testing.assert_allclose(stem(images).numpy(), images / 127.5 - 1, atol=1e-6)
    np.testing.assert_allclose(top(stem(images)).numpy(), features(images).numpy(), rtol=1e-5, atol=1e-6)


def test_the_stem_holds_only_frozen_layers(features):
    unfreeze_top(features, 60)
    _, stem, _ = split_at_stem(features, 60)
    assert stem.trainable_weights == []


def test_each_epoch_shows_every_image_once_as_one_of_its_versions():
    from trainer.train.stem import VersionBatches

    count, versions = 10, 3
    # Version v of image i holds 100 * v + i, so a batch says which version of which image it drew.
    arrays = [np.array([[100.0 * v + i] for i in range(count)], np.float32) for v in range(versions)]
    labels = np.arange(count) % 2
    batches = VersionBatches(arrays, labels, batch_size=4, seed=0, class_weight={0: 0.5, 1: 2.0})
    drawn_versions = set()
    for _ in range(5):
        seen = []
        for index in range(len(batches)):
            x, y, w = batches[index]
            images = x[:, 0].astype(int) % 100
            np.testing.assert_array_equal(y, labels[images])
            np.testing.assert_array_equal(w, np.where(y == 0, 0.5, 2.0))
            seen += list(images)
            drawn_versions |= set(x[:, 0].astype(int) // 100)
        assert sorted(seen) == list(range(count))
        batches.new_epoch()
    assert len(batches) == 3 and drawn_versions == {0, 1, 2}


def test_the_dataset_runs_epoch_after_epoch_each_drawn_anew_as_indexing_would_give_them():
    from trainer.train.stem import VersionBatches

    count = 10
    arrays = [np.array([[100.0 * v + i] for i in range(count)], np.float32) for v in range(3)]
    labels = np.arange(count) % 2
    batches = VersionBatches(arrays, labels, batch_size=4, seed=3, class_weight={0: 0.5, 1: 2.0})
    streamed = [tuple(part.numpy() for part in batch) for batch in batches.dataset().take(3 * len(batches))]
    twin = VersionBatches(arrays, labels, batch_size=4, seed=3, class_weight={0: 0.5, 1: 2.0})
    expected = []
    for _ in range(3):  # every epoch draws first, the first one included
        twin.new_epoch()
        expected += [twin[index] for index in range(len(twin))]
    assert len(streamed) == len(expected) == 9
    for got, want in zip(streamed, expected):
        for got_part, want_part in zip(got, want):
            np.testing.assert_array_equal(got_part, want_part)
    epochs = [np.concatenate([x[:, 0] for x, _, _ in streamed[i : i + 3]]) for i in (0, 3, 6)]
    assert all(sorted(epoch.astype(int) % 100) == list(range(count)) for epoch in epochs)
    assert not np.array_equal(epochs[0], epochs[1])


def test_the_dataset_prefetches_without_autotuning():
    """With autotuning, tearing the stream down after `fit` waited on a tf.data thread for up
    to ~50 s in about a third of the runs (VersionBatches.dataset)."""
    from trainer.train.stem import VersionBatches

    batches = VersionBatches([np.zeros((6, 2), np.float32)] * 2, np.arange(6) % 2, batch_size=4, seed=0)
    assert batches.dataset().options().autotune.enabled is False


def test_version_batches_refuse_labels_that_do_not_match_the_activations():
    from trainer.train.stem import VersionBatches

    with pytest.raises(ValueError, match="5 activations per version for 4 labels"):
        VersionBatches([np.zeros((5, 3), np.float32)] * 2, np.zeros(4, int), batch_size=2, seed=0)


def test_version_batches_refuse_versions_of_different_shapes():
    from trainer.train.stem import VersionBatches

    with pytest.raises(ValueError, match="versions differ in shape"):
        VersionBatches([np.zeros((5, 3), np.float32), np.zeros((5, 4), np.float32)], np.zeros(5, int), batch_size=2, seed=0)


def test_augmented_copies_are_cached_for_the_same_images_and_settings(base, monkeypatch):
    from trainer.data.dataset import load_dataset
    from trainer.train import stem as stem_module
    from trainer.train.bottlenecks import compute_bottlenecks

    config = tiny_config(base, name="copies", augment_copies=2, fine_tune_layers=5, augment_strength=1.0)
    features = build_feature_extractor(config)
    cut, stem, _ = split_at_stem(features, config.fine_tune_layers)
    identity = stem_module.stem_id(cut, stem)
    dataset = load_dataset(config.data_root)
    items = [item for item in dataset.items if item.path.name != "corrupt.jpg"][:6]
    forward = FrozenForward(stem, expected_inputs=len(items))
    plain = compute_bottlenecks(items, forward, config, identity)

    first = stem_module.augmented_copies(items, forward, config, identity)
    assert len(first) == 2 and first[0].shape == plain.features.shape
    # (An uncalibrated random stem's outputs are tiny, so only relative differences count.)
    assert not np.allclose(first[0], plain.features, rtol=1e-3, atol=0)
    assert not np.allclose(first[0], first[1], rtol=1e-3, atol=0)

    def no_recompute(*args, **kwargs):
        raise AssertionError("a cached copy was computed again")

    monkeypatch.setattr(stem_module, "_augmented_pass", no_recompute)
    again = stem_module.augmented_copies(items, forward, config, identity)
    for cached, computed in zip(again, first):
        np.testing.assert_array_equal(cached, computed)
    # Another seed is another augmentation: it is not read from the first one's cache.
    with pytest.raises(AssertionError, match="computed again"):
        stem_module.augmented_copies(items, forward, replace(config, seed=config.seed + 1), identity)


def test_phase_1_features_from_stem_activations_are_the_top_layers_outputs_and_cached_by_the_top(features, tmp_path):
    from trainer.train import stem as stem_module
    from trainer.train.bottlenecks import Bottlenecks

    config = TrainConfig(tmp_path, tmp_path / "run", input_hw=(96, 96), weights="none", cache_dir=tmp_path / "cache")
    cut, stem, top = split_at_stem(features, 60)
    identity = stem_module.stem_id(cut, stem)
    activations = stem(_images(5), training=False).numpy()
    side = Bottlenecks(items=[], features=activations, skipped=[], computed=0, sha256s=[f"{i:064x}" for i in range(5)])

    class Counted(FrozenForward):
        calls = 0

        def __call__(self, batch):
            Counted.calls += 1
            return super().__call__(batch)

    forward = Counted(top, expected_inputs=len(activations))
    pooled = stem_module.pooled_features(side, top, forward, replace(config, batch_size=2), identity)
    np.testing.assert_allclose(pooled, features(_images(5), training=False).numpy(), rtol=1e-4, atol=1e-6)
    assert Counted.calls == 3  # batches of 2, 2 and 1
    again = stem_module.pooled_features(side, top, forward, config, identity)
    assert Counted.calls == 3  # every vector from the cache
    np.testing.assert_array_equal(again, pooled)
    # Other top weights are another top: nothing of the first one's is read.
    layer = next(layer for layer in top.layers if layer.weights)
    original = layer.weights[0].numpy()
    layer.weights[0].assign(original * 2.0)
    try:
        stem_module.pooled_features(side, top, forward, config, identity)
        assert Counted.calls == 4
    finally:
        layer.weights[0].assign(original)


def test_the_stem_identity_changes_with_the_stem_s_weights(features):
    from trainer.train.stem import stem_id

    cut, stem, _ = split_at_stem(features, 60)
    before = stem_id(cut, stem)
    layer = next(layer for layer in stem.layers[-1].layers if layer.weights)
    original = layer.weights[0].numpy()
    layer.weights[0].assign(original + 1.0)
    try:
        assert stem_id(cut, stem) != before
    finally:
        layer.weights[0].assign(original)
    assert stem_id(cut, stem) == before


@pytest.mark.heavy
def test_a_cached_phase_2_runs_from_the_stem_cache_its_copies_and_its_int8_version(base, capsys):
    from trainer.train import run_training

    config = tiny_config(base, name="cached-phase2", epochs=1, fine_tune_epochs=2, fine_tune_layers=30, augment_copies=1, int8_aware=True)
    run_training(config)
    state = json.loads((config.run_dir / "state.json").read_text())
    assert state["epochs_done"] == {"phase1": 1, "phase2": 2}
    cut = split_at_stem(build_feature_extractor(config), config.fine_tune_layers)[0]
    # The plain version, one augmented copy and the int8 version (trainer.train.int8_stem).
    assert f"phase 2 trains above {cut} on cached activations" in (out := capsys.readouterr().out)
    assert "3 version(s) of each training image" in out
    stem_caches = [folder for folder in config.cache_dir.iterdir() if f"-stem-{cut}-" in folder.name]
    assert len(stem_caches) == 1
    assert len(list((stem_caches[0] / "copies").glob("*.npy"))) == 1
    assert len(list((stem_caches[0] / "int8").glob("*.npy"))) == 1
    # Every readable image, training and validation, has its plain activation cached.
    split = json.loads((config.run_dir / "split.json").read_text())
    readable = [entry for entry in split["train"] + split["val"] if not entry["path"].endswith("corrupt.jpg")]
    assert len(list(stem_caches[0].glob("??/*.npy"))) == len(readable)


def test_a_run_crops_each_training_image_once_for_both_phases(base, monkeypatch):
    """Phase 1's pass through the stem hands its crops to phase 2's augmented copies."""
    from trainer.train import bottlenecks, run_training

    cropped: list[Path] = []
    original = bottlenecks.load_crop

    def counting(item, size_hw, margin, found=None):
        cropped.append(item.path)
        return original(item, size_hw, margin, found)

    monkeypatch.setattr(bottlenecks, "load_crop", counting)
    config = tiny_config(
        base, name="one-crop", epochs=1, fine_tune_epochs=1, fine_tune_layers=30, augment_copies=1,
        cache_dir=base / "cache-one-crop" / "bottlenecks",  # cold: nothing cropped or copied before
    )
    run_training(config)
    split = json.loads((config.run_dir / "split.json").read_text())
    train = [(config.data_root / entry["path"]).resolve() for entry in split["train"] if not entry["path"].endswith("corrupt.jpg")]
    assert sorted(path for path in cropped if path in set(train)) == sorted(train)
    copies = [folder / "copies" for folder in config.cache_dir.iterdir() if "-stem-" in folder.name]
    assert [len(list(folder.glob("*.npy"))) for folder in copies] == [1]  # the copy was made, from those crops


def test_phase_2_versions_are_made_in_a_thread_beside_phase_1_and_its_errors_stop_the_run(base, monkeypatch):
    """The augmented copies and the int8 version need only the frozen stem, so a run makes
    them while the head fits; a failure there is the run's failure, not a silent gap."""
    import threading

    from trainer.train import run_training, stem

    made_in: list[str] = []
    original = stem.training_versions

    def recording(*args, **kwargs):
        made_in.append(threading.current_thread().name)
        return original(*args, **kwargs)

    monkeypatch.setattr(stem, "training_versions", recording)
    config = tiny_config(base, name="beside", epochs=1, fine_tune_epochs=1, fine_tune_layers=30, augment_copies=1)
    run_training(config)
    assert made_in == ["phase 2 versions"]
    assert json.loads((config.run_dir / "state.json").read_text())["epochs_done"]["phase2"] == 1

    def failing(*args, **kwargs):
        raise MemoryError("no room for the copies")

    monkeypatch.setattr(stem, "training_versions", failing)
    with pytest.raises(MemoryError, match="no room for the copies"):
        run_training(tiny_config(base, name="beside-fails", epochs=1, fine_tune_epochs=1, fine_tune_layers=30, augment_copies=1))


def test_before_a_cached_phase_2_the_head_trains_on_the_stem_cache_through_the_top(base):
    from trainer.train.bottlenecks import compute_bottlenecks, load_crop
    from trainer.train.model import calibrate_batch_norm
    from trainer.train.run import _head_features, prepare_run

    config = tiny_config(base, name="shared-pass", weights="none", fine_tune_epochs=1, fine_tune_layers=30)
    data = prepare_run(config)
    features = build_feature_extractor(config)
    calibrate_batch_norm(features, np.stack([load_crop(item, config.input_hw, config.margin) for item in data.split.val]))
    train, val, _ = _head_features(data, features, config, "unused")
    direct = compute_bottlenecks(data.split.val, FrozenForward(features, expected_inputs=0), replace(config, cache_dir=base / "cache-direct"), "full")
    assert [item.path for item in val.items] == [item.path for item in direct.items]
    assert np.abs(direct.features).max() > 0.1  # calibrated: features of a usable size
    np.testing.assert_allclose(val.features, direct.features, rtol=1e-4, atol=1e-5)
    assert train.features.shape == (len(train.items), direct.features.shape[1])
    # The stem's cache now holds them, and no pooled-feature cache was written for this run.
    cut = split_at_stem(features, config.fine_tune_layers)[0]
    folders = [folder.name for folder in config.cache_dir.iterdir()]
    assert any(f"-stem-{cut}-" in name for name in folders)
