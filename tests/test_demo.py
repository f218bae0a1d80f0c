"""`bricksort demo` end to end at a toy size: every stage runs for real (render, audit, train,
int8 export, evaluate, sort in the digital twin) and every fed brick is accounted for."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from bricksort.cli import main
from bricksort.demo import DemoConfig, choose_weights, format_summary, local_imagenet_weights, run_demo


def toy_config(tmp_path: Path, **overrides) -> DemoConfig:
    settings = dict(
        out=tmp_path / "demo-out",
        parts=("3001", "3039"),
        bricks_per_part=5,
        views=2,
        eval_bricks_per_part=1,
        sort_bricks=4,
        time_scale=0.0,
        weights="none",
        epochs=2,
        scratch_epochs=1,
        input_hw=(64, 64),
        cache_dir=tmp_path / "cache",
        progress=False,
    )
    settings.update(overrides)
    return DemoConfig(**settings)


@pytest.mark.heavy
def test_the_demo_runs_every_stage_and_accounts_for_every_brick(tmp_path):
    said: list[str] = []
    result = run_demo(toy_config(tmp_path), say=said.append)

    assert result.weights == "none"
    assert any("training from scratch" in line for line in said)
    assert result.images == 2 * 5 * 2
    assert result.fed == 4
    assert result.correct + result.wrong_bin + result.rejected + result.unresolved + result.jammed == 4
    assert result.unaccounted == 0 and result.problems == []
    assert result.sort_wall_s > 0 and result.sort_simulated_s > 0
    for name in ("audit", "training curves", "confusion matrix", "misclassified", "sort journal", "rendered bricks"):
        assert result.reports[name].is_file(), name
    bundle = json.loads((result.folder / "bundle" / "metadata.json").read_text())
    assert bundle["quantization"] == "int8"
    assert set(result.stage_s) == {"synth", "audit", "train", "export", "evaluate", "sort"}
    summary = format_summary(result, 12.0)
    assert "unaccounted         0" in summary and str(result.reports["sort journal"]) in summary


def test_bad_demo_settings_are_refused_with_the_setting_named(tmp_path):
    with pytest.raises(ValueError, match="bricks-per-part must be >= 5"):
        toy_config(tmp_path, bricks_per_part=2)
    with pytest.raises(ValueError, match="cannot be rendered"):
        toy_config(tmp_path, parts=("3001", "99999"))
    with pytest.raises(ValueError, match="weights must be one of"):
        toy_config(tmp_path, weights="resnet")
    assert main(["demo", "--out", str(tmp_path), "--sort-bricks", "0"]) == 2
    assert not any(tmp_path.iterdir())  # refused before anything was written


def test_weights_are_found_where_keras_looks_or_the_demo_says_it_trains_from_scratch(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    assert local_imagenet_weights(0.35, (160, 160)) is None
    assert choose_weights("auto")[0] == "none"
    weights = tmp_path / "keras" / "models" / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_160_no_top.h5"
    weights.parent.mkdir(parents=True)
    weights.write_bytes(b"h5")
    assert local_imagenet_weights(0.35, (160, 160)) == weights
    assert choose_weights("auto") == ("imagenet", f"ImageNet MobileNetV2 weights found locally: {weights}")
    # Sizes Keras has no file for load the 224 one.
    assert local_imagenet_weights(0.35, (150, 150)) is None


def test_imagenet_weights_are_downloaded_once_when_asked_for_and_never_by_default(tmp_path, monkeypatch):
    """`--weights auto` (the default) stays offline and says how to get the weights;
    `--weights imagenet` has Keras fetch them into its cache, where later runs find them."""
    import h5py
    import keras
    from keras.src.legacy.saving import legacy_h5_format
    from keras.src.utils import file_utils

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    fetched = []

    def fake_download(fname, origin, cache_subdir="datasets", **kwargs):  # Keras' file in Keras' format
        fetched.append(origin)
        path = tmp_path / "keras" / cache_subdir / fname
        path.parent.mkdir(parents=True, exist_ok=True)
        backbone = keras.applications.MobileNetV2(input_shape=(160, 160, 3), alpha=0.35, include_top=False, weights=None)
        with h5py.File(path, "w") as file:
            legacy_h5_format.save_weights_to_hdf5_group(file, backbone)
        return str(path)

    monkeypatch.setattr(file_utils, "get_file", fake_download)
    weights, why = choose_weights("auto")
    assert weights == "none" and "--weights imagenet downloads them" in why and not fetched

    weights, why = choose_weights("imagenet")
    expected = tmp_path / "keras" / "models" / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_160_no_top.h5"
    assert (weights, why) == ("imagenet", f"ImageNet MobileNetV2 weights downloaded once: {expected}")
    assert len(fetched) == 1 and fetched[0].endswith(expected.name)
    assert choose_weights("auto") == ("imagenet", f"ImageNet MobileNetV2 weights found locally: {expected}")
    assert len(fetched) == 1


def test_a_demo_asked_for_imagenet_weights_offline_says_so_and_writes_nothing(tmp_path, offline_keras, monkeypatch, capsys):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    out = tmp_path / "demo-out"
    assert main(["demo", "--weights", "imagenet", "--out", str(out), "--quiet"]) == 2
    error = capsys.readouterr().err
    assert "ImageNet weights for mobilenet_v2 alpha 0.35 at 160x160" in error and "could not be downloaded" in error
    assert not out.exists()


def test_demo_fine_tuning_applies_to_imagenet_weights_with_light_augmentation(tmp_path):
    from bricksort.demo import FINE_TUNE_AUGMENT_STRENGTH, FINE_TUNE_LAYERS, training_config

    config = toy_config(tmp_path, fine_tune_epochs=3)
    tuned = training_config(tmp_path / "captures", tmp_path / "run", "imagenet", (160, 160), config)
    assert (tuned.fine_tune_epochs, tuned.fine_tune_layers) == (3, FINE_TUNE_LAYERS)
    assert tuned.augment_strength == FINE_TUNE_AUGMENT_STRENGTH < 0.3
    assert tuned.fine_tune_input == "cached"  # a frozen stem to cache: phase 2 on its activations
    head_only = training_config(tmp_path / "captures", tmp_path / "run", "imagenet", (160, 160), toy_config(tmp_path))
    assert head_only.fine_tune_epochs == 0
    # From scratch the whole network trains for --scratch-epochs, whatever --fine-tune says.
    scratch = training_config(tmp_path / "captures", tmp_path / "run", "none", (64, 64), config)
    assert scratch.fine_tune_epochs == config.scratch_epochs
    assert scratch.fine_tune_input == "images"  # every layer trains: nothing frozen to cache


def test_negative_fine_tune_epochs_are_refused(tmp_path):
    with pytest.raises(ValueError, match="fine-tune-epochs must be >= 0"):
        toy_config(tmp_path, fine_tune_epochs=-1)
