"""A tiny real training run: run folder contents, bottleneck cache reuse, corrupt images,
and resume (best score and epoch restored, never a better checkpoint overwritten)."""
import json
import math
import shutil
from dataclasses import replace

import numpy as np
import pytest

from tiny_brick_photos import write_class_folders
from tiny_training import CORRUPT_NAME, tiny_config, trained_run


@pytest.fixture(scope="session")
def run_dir(base):
    return trained_run(base)


def test_run_folder_holds_everything_export_and_resume_need(run_dir):
    for name in ("config.json", "split.json", "labels.json", "state.json", "best.weights.h5", "history.json", "curves.png"):
        assert (run_dir / name).is_file(), name
    assert (run_dir / "tensorboard" / "phase1").is_dir()
    assert json.loads((run_dir / "labels.json").read_text()) == {"1x1": 0, "2x4": 1, "slope": 2}
    state = json.loads((run_dir / "state.json").read_text())
    history = json.loads((run_dir / "history.json").read_text())
    assert state["epochs_done"]["phase1"] == len(history) == 12
    best = min(history, key=lambda h: h["val_loss"])
    assert state["best_val_loss"] == pytest.approx(best["val_loss"])
    assert state["best_epoch"] == best["epoch"]


def test_the_run_keeps_its_time_per_stage(run_dir):
    (entry,) = json.loads((run_dir / "timings.json").read_text())  # one invocation: one entry
    stages = entry["stages_s"]
    assert list(stages) == ["split and data", "phase 1 features", "phase 1 fit", "other"]  # head only: no phase 2
    assert all(seconds >= 0 for seconds in stages.values())
    assert sum(stages.values()) == pytest.approx(entry["total_s"], abs=0.05)


def test_split_is_saved_and_disjoint(run_dir):
    split = json.loads((run_dir / "split.json").read_text())
    sides = {name: {entry["path"] for entry in split[name]} for name in ("train", "val", "test")}
    assert sides["train"] and sides["val"] and sides["test"]
    assert not (sides["train"] & sides["val"] or sides["train"] & sides["test"] or sides["val"] & sides["test"])
    assert sum(len(s) for s in sides.values()) == 37  # 36 photos + the corrupt file


def test_corrupt_image_is_listed_not_fatal(run_dir):
    split = json.loads((run_dir / "split.json").read_text())
    side = next(name for name in ("train", "val", "test") if any(CORRUPT_NAME in e["path"] for e in split[name]))
    skipped = json.loads((run_dir / "skipped.json").read_text())
    if side == "test":  # training never reads the test side; export lists it (see export tests)
        assert skipped == []
    else:
        assert [entry["path"] for entry in skipped] == [f"1x1/{CORRUPT_NAME}"]
        assert "corrupt" in skipped[0]["reason"] or "truncated" in skipped[0]["reason"]


def test_bottlenecks_come_from_the_cache_the_second_time(base, run_dir):
    from trainer.data.split import Split
    from trainer.tflite.forward import FrozenForward
    from trainer.train.bottlenecks import calibration_items, compute_bottlenecks, weights_id
    from trainer.train.model import build_classifier

    config = tiny_config(base)
    split = Split.load(run_dir / "split.json", config.data_root)
    _, features, _ = build_classifier(config, 3)
    readable = [item for item in calibration_items(split.train) if item.path.name != CORRUPT_NAME]
    first = compute_bottlenecks(split.val, FrozenForward(features, expected_inputs=0), config, weights_id(config, readable), progress=False)
    assert first.computed == 0  # the run already cached every val image
    assert np.isfinite(first.features).all() and first.features.std() > 1e-3  # calibrated: not vanishing


def test_resume_restores_best_score_and_epoch(base, run_dir):
    from trainer.train import run_training
    from trainer.train.config import TrainConfig

    before = json.loads((run_dir / "state.json").read_text())
    best_bytes = (run_dir / "best.weights.h5").read_bytes()
    resumed = tiny_config(base, name="resumed")
    # A copy of the finished run, resumed for 4 more epochs.
    resumed.run_dir.mkdir(parents=True)
    for path in run_dir.iterdir():
        if path.is_file():
            (resumed.run_dir / path.name).write_bytes(path.read_bytes())
    saved = json.loads((resumed.run_dir / "state.json").read_text())
    saved["finished"] = []
    (resumed.run_dir / "state.json").write_text(json.dumps(saved))
    run_training(TrainConfig.load(resumed.run_dir, epochs=16, resume=True))  # writes to the copy, not the original

    after = json.loads((resumed.run_dir / "state.json").read_text())
    history = json.loads((resumed.run_dir / "history.json").read_text())
    assert after["epochs_done"]["phase1"] == 16
    assert [h["epoch"] for h in history] == list(range(16))  # continued at epoch 12, not 0
    assert after["best_val_loss"] <= before["best_val_loss"]
    new_epochs = [h for h in history if h["epoch"] >= 12]
    if min(h["val_loss"] for h in new_epochs) >= before["best_val_loss"]:
        assert after["best_epoch"] == before["best_epoch"]
        assert (resumed.run_dir / "best.weights.h5").read_bytes() == best_bytes
    else:
        assert after["best_epoch"] >= 12


def test_worse_epoch_never_replaces_the_best_checkpoint(tmp_path):
    import keras

    from trainer.train.checkpoint import BEST_WEIGHTS, BestCheckpoint, RunState

    inputs = keras.Input(shape=(2,))
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(inputs))
    state = RunState(best_val_loss=0.30, best_val_accuracy=0.9, best_epoch=3, best_phase="phase1", epochs_done={"phase1": 4})
    checkpoint = BestCheckpoint(model, tmp_path, state, "phase1")
    (tmp_path / BEST_WEIGHTS).write_bytes(b"the better checkpoint")

    checkpoint.on_epoch_end(4, {"val_loss": 0.45, "val_accuracy": 0.8})
    assert (tmp_path / BEST_WEIGHTS).read_bytes() == b"the better checkpoint"
    assert RunState.load(tmp_path).best_val_loss == pytest.approx(0.30)
    assert RunState.load(tmp_path).epochs_done == {"phase1": 5}

    checkpoint.on_epoch_end(5, {"val_loss": 0.20, "val_accuracy": 0.95})
    reloaded = RunState.load(tmp_path)
    assert (tmp_path / BEST_WEIGHTS).read_bytes() != b"the better checkpoint"
    assert (reloaded.best_val_loss, reloaded.best_epoch) == (pytest.approx(0.20), 5)


def test_a_diverged_epoch_s_nan_loss_never_becomes_the_best_and_later_epochs_still_can(tmp_path, capsys):
    import keras

    from trainer.train.checkpoint import BEST_WEIGHTS, BestCheckpoint, RunState

    inputs = keras.Input(shape=(2,))
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(inputs))
    state = RunState(best_val_loss=0.30, best_val_accuracy=0.9, best_epoch=3, best_phase="phase1", epochs_done={"phase1": 4})
    checkpoint = BestCheckpoint(model, tmp_path, state, "phase2")
    (tmp_path / BEST_WEIGHTS).write_bytes(b"the last good checkpoint")

    checkpoint.on_epoch_end(0, {"val_loss": math.nan, "val_accuracy": 0.33})
    assert (tmp_path / BEST_WEIGHTS).read_bytes() == b"the last good checkpoint"
    assert RunState.load(tmp_path).best_val_loss == pytest.approx(0.30)
    assert "phase2 epoch 1: validation loss is NaN (training diverged); the best checkpoint stays phase1 epoch 4" in capsys.readouterr().out
    assert not checkpoint.offer(math.nan, 0.33, 1)  # the weight average offers its score the same way

    checkpoint.on_epoch_end(2, {"val_loss": 0.25, "val_accuracy": 0.92})
    assert (RunState.load(tmp_path).best_val_loss, RunState.load(tmp_path).best_phase) == (pytest.approx(0.25), "phase2")


def test_fresh_state_has_no_best_yet(tmp_path):
    from trainer.train.checkpoint import RunState

    assert math.isinf(RunState.load(tmp_path).best_val_loss)


def test_new_run_refuses_to_overwrite_an_existing_one(base, run_dir):
    from trainer.train import run_training
    from trainer.train.run import RunExistsError

    with pytest.raises(RunExistsError, match="already holds a run"):
        run_training(tiny_config(base))


def test_a_new_run_refuses_a_folder_that_holds_other_files_and_leaves_them_alone(base):
    from trainer.train import run_training
    from trainer.train.run import RunExistsError

    config = tiny_config(base, name="someone-elses")
    config.run_dir.mkdir(parents=True)
    (config.run_dir / "labels.json").write_text("my notes")
    with pytest.raises(RunExistsError, match="not empty and holds no run"):
        run_training(config)
    assert [path.name for path in config.run_dir.iterdir()] == ["labels.json"]
    assert (config.run_dir / "labels.json").read_text() == "my notes"


def test_a_class_whose_images_are_all_unreadable_stops_the_run_before_it_trains_and_leaves_no_folder(tmp_path, capsys):
    from trainer.train import run_training
    from trainer.train.run import UnusableDataError

    root = write_class_folders(tmp_path / "data", per_class=10, classes=("2x4", "1x1"))
    broken = root / "slope"
    broken.mkdir()
    for i in range(10):
        (broken / f"{i}.jpg").write_bytes(b"" if i % 2 else b"\xff\xd8\xff\xe0\x00\x10JFIF\x00")
    (root / "2x4" / "gone.jpg").symlink_to(tmp_path / "deleted.jpg")
    config = tiny_config(tmp_path, name="broken", data_root=root, epochs=2)
    with pytest.raises(UnusableDataError, match=r"class slope has no readable training image \(\d+ unreadable: .*slope/\d\.jpg"):
        run_training(config)
    assert not config.run_dir.exists()
    assert "left out 1 image(s) listed or linked in" in capsys.readouterr().out  # the link to nothing, named


def test_a_run_folder_inside_the_data_folder_is_refused_before_anything_is_written(base):
    from trainer.train.run import prepare_run

    data = base / "data"
    for run_dir in (data, data / "runs" / "r"):
        with pytest.raises(ValueError, match="inside the data folder"):
            prepare_run(tiny_config(base, run_dir=run_dir))
    assert not (data / "runs").exists() and not (data / "split.json").exists()


def test_a_run_name_with_a_path_in_it_is_refused(tmp_path):
    from bricksort.cli import build_parser
    from trainer.train.cli_options import config_from_args

    for name in ("../x", "a/b", "..", ""):
        args = build_parser().parse_args(["train", str(tmp_path), "--runs", str(tmp_path / "runs"), "--name", name])
        with pytest.raises(ValueError, match="must be a plain folder name"):
            config_from_args(args)


def test_a_run_can_take_another_run_s_split_instead_of_making_one(base, run_dir):
    from trainer.train import run_training

    other = tiny_config(base, name="same-split", seed=99, epochs=2, split_from=run_dir)
    run_training(other)
    sides = ("train", "val", "test")
    theirs, ours = (json.loads((folder / "split.json").read_text()) for folder in (run_dir, other.run_dir))
    assert [ours[side] for side in sides] == [theirs[side] for side in sides]
    seed_99 = tiny_config(base, name="own-split", seed=99, epochs=2)
    run_training(seed_99)
    assert json.loads((seed_99.run_dir / "split.json").read_text())["test"] != theirs["test"]  # the seed alone would move it


def test_a_saved_split_of_other_classes_is_refused_before_anything_is_written(base, run_dir, tmp_path):
    from trainer.train import run_training

    shutil.copytree(base / "data", tmp_path / "data")
    shutil.copytree(tmp_path / "data" / "slope", tmp_path / "data" / "plate")
    config = replace(tiny_config(base, name="other-classes", split_from=run_dir / "split.json"), data_root=tmp_path / "data")
    with pytest.raises(ValueError, match="splits classes"):
        run_training(config)
    assert not config.run_dir.exists()


def test_a_new_run_whose_weights_cannot_be_fetched_leaves_no_run_behind(base, offline_keras):
    from trainer.train import run_training
    from trainer.train.model import WeightsDownloadError

    config = tiny_config(base, name="offline", weights="imagenet", input_hw=(96, 96))
    with pytest.raises(WeightsDownloadError):
        run_training(config)
    assert not config.run_dir.exists()  # so the same command works once the weights are there


def test_a_run_from_imagenet_weights_resumes_offline_where_those_weights_are_not(base, run_dir, tmp_path, offline_keras):
    """Resuming, the run's checkpoint replaces every weight: phase 1 and phase 2 both go on
    without fetching the backbone's starting weights."""
    from trainer.train import run_training
    from trainer.train.config import TrainConfig

    run = tmp_path / "copied-run"
    shutil.copytree(run_dir, run)
    config = json.loads((run / "config.json").read_text())
    config["weights"] = "imagenet"  # as if trained on a workstation that had downloaded them
    # Its own cache: the random backbone's features must not be filed under "imagenet" where other tests look.
    config["cache_dir"] = str(tmp_path / "cache" / "bottlenecks")
    (run / "config.json").write_text(json.dumps(config))
    state = json.loads((run / "state.json").read_text())
    state["finished"] = []  # as if stopped in phase 1
    (run / "state.json").write_text(json.dumps(state))
    run_training(TrainConfig.load(run, epochs=14, fine_tune_epochs=1, fine_tune_layers=5, resume=True))

    state = json.loads((run / "state.json").read_text())
    assert state["epochs_done"] == {"phase1": 14, "phase2": 1}
    assert not offline_keras.exists()  # nothing was even looked for in the weights cache


@pytest.mark.heavy
def test_resume_with_more_fine_tune_epochs_continues_a_finished_run(base):
    from trainer.train import run_training
    from trainer.train.config import TrainConfig

    config = tiny_config(base, name="tuned", epochs=2, fine_tune_epochs=1, fine_tune_layers=5)
    run_training(config)
    run_training(TrainConfig.load(config.run_dir, fine_tune_epochs=2, resume=True))

    state = json.loads((config.run_dir / "state.json").read_text())
    history = json.loads((config.run_dir / "history.json").read_text())
    assert state["epochs_done"] == {"phase1": 2, "phase2": 2}
    assert [(h["phase"], h["epoch"]) for h in history] == [("phase1", 0), ("phase1", 1), ("phase2", 0), ("phase2", 1)]


@pytest.mark.heavy
def test_phase_2_goes_on_from_phase_1_s_own_classifier_exactly_as_from_the_loaded_checkpoint(base, monkeypatch):
    """In one process phase 2 trains phase 1's classifier on instead of building and loading
    another; a run resumed for phase 2 loads the checkpoint. Both must train the same weights."""
    from trainer.train import run, run_training
    from trainer.train.config import TrainConfig

    builds = []
    original = run.build_classifier_to_load
    monkeypatch.setattr(run, "build_classifier_to_load", lambda *args: builds.append(1) or original(*args))
    settings = dict(epochs=3, fine_tune_epochs=2, fine_tune_layers=5, feature_noise=0.2)
    together = tiny_config(base, name="phases-together", **settings)
    run_training(together)
    assert builds == []  # phase 2 took phase 1's classifier
    apart = tiny_config(base, name="phases-apart", **{**settings, "fine_tune_epochs": 0})
    run_training(apart)
    run_training(TrainConfig.load(apart.run_dir, fine_tune_epochs=2, resume=True))
    assert builds == [1]  # the resumed run built one to load its checkpoint into

    def phase_2(run_dir):
        return [h for h in json.loads((run_dir / "history.json").read_text()) if h["phase"] == "phase2"]

    assert len(phase_2(together.run_dir)) == 2
    for mine, theirs in zip(phase_2(together.run_dir), phase_2(apart.run_dir)):
        assert mine["val_loss"] == pytest.approx(theirs["val_loss"], rel=1e-6)
        assert mine["loss"] == pytest.approx(theirs["loss"], rel=1e-6)


def test_cosine_schedule_lowers_phase_2_s_rate_each_epoch_and_a_resume_continues_it(base):
    from trainer.train import run_training
    from trainer.train.config import TrainConfig
    from trainer.train.schedule import fine_tune_rate

    config = tiny_config(base, name="cosine", epochs=1, fine_tune_epochs=3, fine_tune_layers=5, fine_tune_schedule="cosine")
    run_training(config)
    run_training(TrainConfig.load(config.run_dir, fine_tune_epochs=4, resume=True))

    rates = [h["learning_rate"] for h in json.loads((config.run_dir / "history.json").read_text()) if h["phase"] == "phase2"]
    base_rate = config.fine_tune_learning_rate
    first_run = [fine_tune_rate(epoch, 3, base_rate, "cosine") for epoch in range(3)]
    assert rates == pytest.approx([*first_run, fine_tune_rate(3, 4, base_rate, "cosine")], rel=1e-5)
    assert rates[0] == pytest.approx(base_rate) and rates[0] > rates[1] > rates[2] > 0
    assert fine_tune_rate(2, 3, base_rate, "constant") == base_rate
    with pytest.raises(ValueError, match="unknown learning-rate schedule 'step'"):
        fine_tune_rate(0, 3, base_rate, "step")


@pytest.fixture
def extra_folder(tmp_path):
    """Four more photos of two of the tiny data's classes, none a copy of its photos."""
    return write_class_folders(tmp_path / "extra", per_class=2, classes=("1x1", "slope"), seed=7)


def test_extra_training_images_only_ever_train(base, run_dir, extra_folder):
    from trainer.train.run import prepare_run

    config = tiny_config(base, name="extra", extra_train=(extra_folder,))
    data = prepare_run(config)

    extra_paths = sorted(extra_folder.glob("*/*.jpg"))
    assert sorted(item.path for item in data.extra) == extra_paths
    assert data.train_items == data.split.train + data.extra
    assert {item.label for item in data.extra} == {"1x1", "slope"}
    # The split is the one the same data and seed give without extras: held-out images unchanged.
    assert json.loads((config.run_dir / "split.json").read_text()) == json.loads((run_dir / "split.json").read_text())
    saved = json.loads((config.run_dir / "config.json").read_text())
    assert saved["extra_train"] == [str(extra_folder)]


def test_extra_images_go_through_the_backbone_into_training_and_a_corrupt_one_is_listed(base, extra_folder):
    from trainer.train import run_training

    corrupt = extra_folder / "slope" / CORRUPT_NAME
    corrupt.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01")  # not the bytes of the data's corrupt file
    cache = base / "extra-cache"
    run_training(tiny_config(base, name="extra-trained", epochs=1, cache_dir=cache))
    without = len(list(cache.rglob("*.npy")))
    config = tiny_config(base, name="extra-trained-2", epochs=1, cache_dir=cache, extra_train=(extra_folder,))
    run_training(config)
    assert len(list(cache.rglob("*.npy"))) == without + 4  # one cached feature vector per readable extra photo
    skipped = [entry["path"] for entry in json.loads((config.run_dir / "skipped.json").read_text())]
    assert str(corrupt.resolve()) in skipped  # outside the data folder: listed by its full path


def test_extra_folder_with_a_class_the_data_lacks_is_refused_before_anything_is_written(base, tmp_path):
    from trainer.train.run import prepare_run

    folder = write_class_folders(tmp_path / "extra", per_class=2, classes=("1x1", "plate"), seed=7)
    config = tiny_config(base, name="extra-unknown", extra_train=(folder,))
    with pytest.raises(ValueError, match="classes the data has not: plate"):
        prepare_run(config)
    assert not config.run_dir.exists()  # the same name can be used again
    missing = replace(config, extra_train=(tmp_path / "nope",))
    with pytest.raises(ValueError, match="nope does not exist"):
        prepare_run(missing)
    assert not config.run_dir.exists()


def test_extra_copy_of_a_held_out_image_is_refused(base, run_dir, tmp_path):
    from trainer.train.run import prepare_run

    split = json.loads((run_dir / "split.json").read_text())
    held_out = split["test"][0]["path"]
    copy = tmp_path / "extra" / held_out
    copy.parent.mkdir(parents=True)
    shutil.copyfile(base / "data" / held_out, copy)
    with pytest.raises(ValueError, match="1 extra training image.* copies of validation or test images"):
        prepare_run(tiny_config(base, name="extra-leak", extra_train=(tmp_path / "extra",)))


def _brightened(source, target, levels=20):
    """The same photo, every pixel `levels` brighter: another frame (not within the identity
    RMS) whose brick crop is the same after the descriptor's standardisation."""
    import cv2

    target.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(target), cv2.add(cv2.imread(str(source)), (levels, levels, levels, 0)))
    return target


def test_extra_image_repeating_a_held_out_one_of_its_part_is_left_out_and_listed(base, run_dir, extra_folder):
    from trainer.train.run import prepare_run

    split = json.loads((run_dir / "split.json").read_text())
    held = split["test"][0]
    twin = _brightened(base / "data" / held["path"], extra_folder / held["label"] / "twin.jpg")
    # The same picture filed under another part is a look-alike, not a repeat: the split's rule
    # links near-duplicates within a part only.
    other_label = next(label for label in ("1x1", "slope") if label != held["label"])
    look_alike = _brightened(base / "data" / held["path"], extra_folder / other_label / "look-alike.jpg")

    config = tiny_config(base, name="extra-twin", extra_train=(extra_folder,))
    data = prepare_run(config)

    kept = {item.path for item in data.extra}
    assert twin not in kept and look_alike in kept
    assert kept == set(extra_folder.glob("*/*.jpg")) - {twin}
    left_out = json.loads((config.run_dir / "extra-left-out.json").read_text())
    assert [(entry["extra"], entry["held_out"]) for entry in left_out] == [(twin.as_posix(), held["path"])]
    assert left_out[0]["crop_similarity"] >= 0.94


def test_extra_re_encoded_copy_of_a_held_out_photo_is_refused(base, run_dir, tmp_path):
    import cv2

    from trainer.train.run import prepare_run

    held_out = json.loads((run_dir / "split.json").read_text())["val"][0]["path"]
    copy = (tmp_path / "extra" / held_out).with_suffix(".png")  # the same pixels in other bytes
    copy.parent.mkdir(parents=True)
    cv2.imwrite(str(copy), cv2.imread(str(base / "data" / held_out)))
    config = tiny_config(base, name="extra-re-encoded", extra_train=(tmp_path / "extra",))
    with pytest.raises(ValueError, match="1 extra training image.* same photos as validation or test images"):
        prepare_run(config)
    assert not (config.run_dir / "split.json").exists()


def test_a_failure_to_name_the_part_colours_keeps_the_training_and_leaves_them_to_export(base, monkeypatch, capsys):
    import trainer.train.run as run_module
    from trainer.train import run_training

    def broken(items, cache_dir):
        raise OSError("cache on a full disk")

    monkeypatch.setattr(run_module, "part_colours", broken)
    run_dir = run_training(tiny_config(base, name="colours-failed", epochs=2))
    assert (run_dir / "best.weights.h5").is_file() and not (run_dir / "part_colours.json").exists()
    assert "could not be named (OSError: cache on a full disk); `bricksort export` will name them" in capsys.readouterr().out
