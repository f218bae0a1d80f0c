"""TrainConfig validates every field at the edge, with a message naming it."""
import json
from pathlib import Path

import pytest

from trainer.train.config import TrainConfig


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"backbone": "resnet50"}, "backbone must be one of"),
        ({"input_hw": (16, 16)}, "input_hw"),
        ({"weights": "/no/such/file.h5"}, "weights must be"),
        ({"epochs": 0, "fine_tune_epochs": 0}, "nothing to train"),
        ({"batch_size": 0}, "batch_size"),
        ({"learning_rate": 0}, "learning_rate"),
        ({"dropout": 1.0}, "dropout"),
        ({"val_fraction": 0.5, "test_fraction": 0.45}, "at least 10%"),
        ({"margin": -0.1}, "margin"),
        ({"augment_strength": 1.5}, "augment_strength"),
        ({"fine_tune_schedule": "linear"}, "fine_tune_schedule must be one of constant, cosine"),
        ({"fine_tune_input": "pixels"}, "fine_tune_input must be one of cached, images"),
        ({"augment_copies": -1}, "augment_copies must be >= 0"),
        ({"synth_bricks": -1}, "synth_bricks must be >= 0"),
        ({"synth_views": 0}, "synth_views must be in"),
    ],
)
def test_bad_config_is_rejected(tmp_path, overrides, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(data_root=tmp_path, run_dir=tmp_path / "run", **overrides)


def test_config_round_trips_through_the_run_folder(tmp_path):
    config = TrainConfig(
        data_root=tmp_path / "data", run_dir=tmp_path / "run", input_hw=(96, 128), weights="none",
        extra_train=(tmp_path / "renders",),
    )
    config.run_dir.mkdir()
    config.save(config.run_dir)
    assert TrainConfig.load(config.run_dir) == config
    assert TrainConfig.load(config.run_dir, epochs=3).epochs == 3


def test_a_run_saves_its_folders_absolute_so_it_exports_and_resumes_from_anywhere(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("runs/r").mkdir(parents=True)
    TrainConfig(data_root=Path("data"), run_dir=Path("runs/r"), weights="none", extra_train=(Path("renders"),)).save(Path("runs/r"))
    monkeypatch.chdir("runs")
    loaded = TrainConfig.load(Path("r"))
    assert loaded.data_root == tmp_path / "data" and loaded.extra_train == (tmp_path / "renders",)


def test_rates_sizes_and_margins_that_are_not_finite_or_too_large_are_refused(tmp_path):
    base = dict(data_root=tmp_path / "data", run_dir=tmp_path / "run", weights="none")
    for bad, message in (
        ({"learning_rate": float("nan")}, "learning_rate must be a finite number > 0"),
        ({"fine_tune_learning_rate": float("inf")}, "fine_tune_learning_rate must be a finite number > 0"),
        ({"alpha": float("nan")}, "alpha must be a finite number > 0"),
        ({"margin": float("nan")}, "margin must be a finite number >= 0"),
        ({"feature_noise": float("inf")}, "feature_noise must be a finite number >= 0"),
        ({"input_hw": (100000, 100000)}, r"each in \[32, 1024\]"),
    ):
        with pytest.raises(ValueError, match=message):
            TrainConfig(**base, **bad)


def test_a_copied_run_loads_with_its_new_folder_so_resume_writes_there(tmp_path):
    first, copy = tmp_path / "runs" / "first", tmp_path / "elsewhere" / "copy"
    first.mkdir(parents=True)
    copy.mkdir(parents=True)
    TrainConfig(data_root=tmp_path / "data", run_dir=first, weights="none").save(first)
    (copy / "config.json").write_bytes((first / "config.json").read_bytes())
    assert TrainConfig.load(copy).run_dir == copy
    assert TrainConfig.load(copy, resume=True).run_dir == copy


def test_loading_a_folder_that_is_not_a_run_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a bricksort training run"):
        TrainConfig.load(tmp_path)
    bundle = tmp_path / "run" / "bundle"
    bundle.mkdir(parents=True)
    (bundle / "metadata.json").write_text("{}")
    with pytest.raises(FileNotFoundError, match=r"is a model bundle, not a training run.*maybe .*run\)$"):
        TrainConfig.load(bundle)


def test_train_options_reach_the_config_and_unset_ones_keep_the_defaults(tmp_path):
    from bricksort.cli import build_parser
    from trainer.train.cli_options import config_from_args

    args = build_parser().parse_args(
        ["train", str(tmp_path / "data"), "--runs", str(tmp_path / "runs"), "--weights", "none", "--fine-tune", "6",
         "--fine-tune-layers", "1000", "--fine-tune-learning-rate", "0.002", "--augment-strength", "0.1",
         "--fine-tune-schedule", "constant", "--fine-tune-input", "images", "--augment-copies", "3", "--no-int8-aware", "--no-fine-tune-average"]
    )
    config = config_from_args(args)
    assert (config.weights, config.fine_tune_epochs, config.fine_tune_layers) == ("none", 6, 1000)
    assert (config.fine_tune_learning_rate, config.augment_strength, config.fine_tune_schedule) == (0.002, 0.1, "constant")
    assert (config.fine_tune_input, config.augment_copies, config.int8_aware, config.fine_tune_average) == ("images", 3, False, False)
    assert config.epochs == TrainConfig.__dataclass_fields__["epochs"].default
    defaults = config_from_args(build_parser().parse_args(["train", str(tmp_path / "data"), "--runs", str(tmp_path / "runs")]))
    assert (defaults.fine_tune_input, defaults.augment_copies, defaults.int8_aware, defaults.fine_tune_average) == ("cached", 2, True, True)


def test_extra_training_folders_come_from_repeated_options_and_are_refused_on_resume(tmp_path):
    from bricksort.cli import build_parser
    from trainer.train.cli_options import config_from_args

    parser = build_parser()
    data = tmp_path / "data"
    config = config_from_args(parser.parse_args(
        ["train", str(data), "--extra-train", str(tmp_path / "a"), "--extra-train", str(tmp_path / "b")]
    ))
    assert config.extra_train == (tmp_path / "a", tmp_path / "b")
    for option in (["--extra-train", str(tmp_path / "a")], ["--synth-bricks", "10"], ["--synth-views", "2"]):
        with pytest.raises(ValueError, match="are for a new run"):
            config_from_args(parser.parse_args(["train", "--resume", str(tmp_path), *option]))
    rendered = config_from_args(parser.parse_args(["train", str(data), "--synth-bricks", "7", "--synth-views", "4"]))
    assert (rendered.synth_bricks, rendered.synth_views) == (7, 4)
    with pytest.raises(ValueError, match="is the data folder itself"):
        TrainConfig(data_root=data, run_dir=tmp_path / "run", extra_train=(data,))


def test_a_run_saved_before_rendered_bricks_existed_resumes_without_them(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    TrainConfig(data_root=tmp_path / "data", run_dir=run, weights="none").save(run)
    saved = json.loads((run / "config.json").read_text())
    del saved["synth_bricks"]
    (run / "config.json").write_text(json.dumps(saved))
    assert TrainConfig.load(run, resume=True).synth_bricks == 0
    assert TrainConfig(data_root=tmp_path / "data", run_dir=run).synth_bricks == 150  # new runs get them


def test_split_from_must_name_a_split_and_is_refused_on_resume(tmp_path):
    from bricksort.cli import build_parser
    from trainer.train.cli_options import config_from_args

    parser = build_parser()
    with pytest.raises(ValueError, match="neither a split.json nor a run folder"):
        config_from_args(parser.parse_args(["train", str(tmp_path / "data"), "--split-from", str(tmp_path)]))
    (tmp_path / "split.json").write_text("{}")
    config = config_from_args(parser.parse_args(["train", str(tmp_path / "data"), "--split-from", str(tmp_path)]))
    assert config.split_from == tmp_path
    with pytest.raises(ValueError, match="--split-from is for a new run"):
        config_from_args(parser.parse_args(["train", "--resume", str(tmp_path), "--split-from", str(tmp_path)]))


def test_a_refused_option_is_named_as_the_user_typed_it(tmp_path, capsys):
    from bricksort.cli import main

    (tmp_path / "data").mkdir()
    for option, flag in ((["--input-size", "100000", "100000"], "--input-size (input_hw must be"),
                         (["--fine-tune", "-1"], "--fine-tune (fine_tune_epochs must be >= 0"),
                         (["--learning-rate", "nan"], "--learning-rate (learning_rate must be a finite number")):
        assert main(["train", str(tmp_path / "data"), "--runs", str(tmp_path / "runs"), *option]) == 2
        assert capsys.readouterr().err.startswith(f"bricksort train: error: {flag}")
    assert not (tmp_path / "runs").exists()  # refused before a run folder was made
