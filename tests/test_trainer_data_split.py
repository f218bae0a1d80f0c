"""Splits: deterministic, stratified, grouped; duplicates never straddle sides; saved and reloaded."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from trainer.data.dataset import Dataset, ImageItem
from trainer.data.split import Split, SplitError, make_split


def fake_dataset(root: Path, per_class: dict[str, int], session_size: int = 1) -> Dataset:
    """Dataset of empty files (the split never opens them), `session_size` files per group."""
    items = []
    for label, count in per_class.items():
        for n in range(count):
            path = root / label / f"{n:04d}.jpg"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
            items.append(ImageItem(path=path, label=label, group=f"{label}/s{n // session_size}"))
    items.sort(key=lambda item: item.path)
    return Dataset(root=root, classes=sorted(per_class), items=items, layout="captures")


def side_of(split: Split) -> dict[Path, str]:
    return {item.path: name for name in ("train", "val", "test") for item in split.side(name)}


def test_every_item_lands_on_exactly_one_side(tmp_path):
    dataset = fake_dataset(tmp_path, {"a": 40, "b": 60})
    split = make_split(dataset, seed=3)
    paths = [item.path for name in ("train", "val", "test") for item in split.side(name)]
    assert sorted(paths) == sorted(item.path for item in dataset.items)


def test_same_seed_same_split_other_seed_other_split(tmp_path):
    dataset = fake_dataset(tmp_path, {"a": 40, "b": 60}, session_size=2)
    assert side_of(make_split(dataset, seed=5)) == side_of(make_split(dataset, seed=5))
    assert side_of(make_split(dataset, seed=5)) != side_of(make_split(dataset, seed=6))


def test_a_new_part_leaves_the_other_parts_split_as_it_was(tmp_path):
    before = side_of(make_split(fake_dataset(tmp_path, {"a": 60, "c": 60}, session_size=3), seed=4))
    after = side_of(make_split(fake_dataset(tmp_path, {"a": 60, "b": 45, "c": 60}, session_size=3), seed=4))
    assert {path: after[path] for path in before} == before


def test_one_more_duplicate_link_moves_only_its_own_part(tmp_path):
    # A near-duplicate pair right at the similarity threshold can link on one machine and not
    # on another (floating-point rounding): the other parts' test images must not change.
    dataset = fake_dataset(tmp_path, {"a": 60, "b": 60, "c": 60}, session_size=3)
    pair = [tmp_path / "b" / "0004.jpg", tmp_path / "b" / "0040.jpg"]
    for seed in range(5):
        unlinked, linked = side_of(make_split(dataset, seed=seed)), side_of(make_split(dataset, seed=seed, groups=[pair]))
        assert linked[pair[0]] == linked[pair[1]]
        assert {path: side for path, side in linked.items() if path.parent.name != "b"} == {
            path: side for path, side in unlinked.items() if path.parent.name != "b"
        }


def test_split_is_stratified_by_class(tmp_path):
    dataset = fake_dataset(tmp_path, {"a": 100, "b": 300, "c": 40})
    counts = make_split(dataset, seed=0, val_fraction=0.2, test_fraction=0.1).counts()
    for label, total in {"a": 100, "b": 300, "c": 40}.items():
        assert counts["test"][label] == pytest.approx(0.1 * total, abs=1)
        assert counts["val"][label] == pytest.approx(0.2 * total, abs=1)


def test_sessions_stay_on_one_side(tmp_path):
    dataset = fake_dataset(tmp_path, {"a": 120, "b": 120}, session_size=8)
    sides = side_of(make_split(dataset, seed=1))
    by_group: dict[str, set[str]] = {}
    for item in dataset.items:
        by_group.setdefault(item.group, set()).add(sides[item.path])
    assert all(len(found) == 1 for found in by_group.values())
    assert {side for found in by_group.values() for side in found} == {"train", "val", "test"}


def test_duplicate_sets_join_groups_even_across_classes(tmp_path):
    dataset = fake_dataset(tmp_path, {"a": 50, "b": 50})
    twins = [
        [tmp_path / "a" / "0001.jpg", tmp_path / "a" / "0002.jpg", tmp_path / "a" / "0030.jpg"],
        [tmp_path / "a" / "0007.jpg", tmp_path / "b" / "0007.jpg"],
    ]
    for seed in range(10):
        split = make_split(dataset, seed=seed, groups=twins)
        sides = side_of(split)
        for twin_set in twins:
            assert len({sides[p] for p in twin_set}) == 1
        assert split.leakage.leaked_test == split.leakage.leaked_val == 0


def test_leakage_stats_count_what_a_naive_split_would_leak(tmp_path):
    # Sessions of 10 near-identical views: a naive split scatters almost every session.
    dataset = fake_dataset(tmp_path, {"a": 200, "b": 200}, session_size=10)
    stats = make_split(dataset, seed=0).leakage
    assert stats.components == 40 and stats.largest_component == 10
    assert stats.leaked_test == 0 and stats.leaked_val == 0
    assert stats.naive_leaked_test > 0.8 * stats.naive_test_size


def test_few_large_sessions_still_fill_every_side(tmp_path):
    dataset = fake_dataset(tmp_path, {"a": 72, "b": 72}, session_size=24)  # three sessions per class
    counts = make_split(dataset, seed=0).counts()
    assert all(counts[side][label] == 24 for side in ("train", "val", "test") for label in ("a", "b"))


def test_a_side_takes_no_more_than_its_share_of_a_class_s_sessions(tmp_path):
    # One big session that must stay in training and 40 single photos, as when one colour of
    # a part links into one duplicate set: by image counts alone test and validation would
    # take 30 of the 40 singles (15 each) and leave training 10.
    items = [ImageItem(path=tmp_path / f"big{n}.jpg", label="a", group="a/big") for n in range(60)]
    items += [ImageItem(path=tmp_path / f"single{n}.jpg", label="a", group=f"a/s{n}") for n in range(40)]
    items += [ImageItem(path=tmp_path / f"b{n}.jpg", label="b", group=f"b/s{n}") for n in range(100)]
    dataset = Dataset(root=tmp_path, classes=["a", "b"], items=sorted(items, key=lambda i: i.path), layout="captures")
    for seed in range(5):
        split = make_split(dataset, seed=seed)
        singles = {name: sum(item.group != "a/big" and item.label == "a" for item in split.side(name)) for name in ("train", "val", "test")}
        assert singles == {"train": 28, "val": 6, "test": 6}  # 15% of the class's 41 sessions each
        assert all(item.group != "a/big" for item in split.val + split.test)  # too big to hold out
        assert split.counts()["test"]["b"] == 15  # sessions of one photo: shares of images and sessions agree


def test_summary_notes_held_out_sides_that_are_mostly_one_set(tmp_path):
    lumpy = make_split(fake_dataset(tmp_path / "lumpy", {"a": 72, "b": 72}, session_size=24), seed=0)
    lines = lumpy.summary()
    assert lines[0] == "split (seed 0): train 48 / val 48 / test 48 images"
    assert "6 duplicate sets kept whole (largest 24)" in lines[1]
    notes = [line for line in lines if "note:" in line]
    assert len(notes) == 4  # each part's val and test are one session
    assert "24 of a's 24 test images are one duplicate set" in notes[0]
    even = make_split(fake_dataset(tmp_path / "even", {"a": 100, "b": 100}, session_size=2), seed=0)
    assert not [line for line in even.summary() if "note:" in line]


def test_save_and_load_round_trip_with_relative_paths(tmp_path):
    dataset = fake_dataset(tmp_path / "data", {"a": 30, "b": 30}, session_size=3)
    split = make_split(dataset, seed=2)
    split.save(tmp_path / "run" / "split.json")
    doc = json.loads((tmp_path / "run" / "split.json").read_text())
    assert all(not Path(entry["path"]).is_absolute() for entry in doc["test"])
    loaded = Split.load(tmp_path / "run" / "split.json", tmp_path / "data")
    assert (loaded.train, loaded.val, loaded.test) == (split.train, split.val, split.test)
    assert loaded.leakage == split.leakage and loaded.seed == 2


def test_load_names_missing_images(tmp_path):
    dataset = fake_dataset(tmp_path / "data", {"a": 10, "b": 10})
    split = make_split(dataset)
    split.save(tmp_path / "split.json")
    gone = split.test[0].path
    gone.unlink()
    with pytest.raises(SplitError, match=f"1 image.*missing.*{gone.name}"):
        Split.load(tmp_path / "split.json", tmp_path / "data")


def test_load_rejects_paths_outside_the_dataset(tmp_path):
    dataset = fake_dataset(tmp_path / "data", {"a": 10, "b": 10})
    make_split(dataset).save(tmp_path / "split.json")
    doc = json.loads((tmp_path / "split.json").read_text())
    doc["train"][0]["path"] = "../../etc/passwd"
    (tmp_path / "split.json").write_text(json.dumps(doc))
    with pytest.raises(SplitError, match="outside"):
        Split.load(tmp_path / "split.json", tmp_path / "data")


def test_load_rejects_other_json(tmp_path):
    (tmp_path / "split.json").write_text('{"hello": 1}')
    with pytest.raises(SplitError, match="not a bricksort-split file"):
        Split.load(tmp_path / "split.json", tmp_path)


@pytest.mark.parametrize("val, test", [(-0.1, 0.2), (0.5, 0.5), (0.2, 1.0)])
def test_bad_fractions_are_rejected(tmp_path, val, test):
    with pytest.raises(SplitError, match="fraction"):
        make_split(fake_dataset(tmp_path, {"a": 10, "b": 10}), val_fraction=val, test_fraction=test)


def test_split_fed_real_duplicate_findings_keeps_copies_together(tmp_path):
    import shutil

    import numpy as np

    from tiny_brick_photos import write_class_folders
    from trainer.data.analysis import analyse_images
    from trainer.data.dataset import load_dataset
    from trainer.data.duplicates import find_duplicates

    root = write_class_folders(tmp_path / "data", per_class=8)
    for n in range(4):
        shutil.copyfile(root / "1x1" / f"1x1_{n}.jpg", root / "1x1" / f"copy_{n}.jpg")
    dataset = load_dataset(root)
    facts = analyse_images([item.path for item in dataset.items], workers=2, progress=False)
    findings = find_duplicates(
        dataset.items, [f.sha256 for f in facts], np.stack([f.descriptor for f in facts]), np.stack([f.thumbnail for f in facts])
    )
    assert len(findings.exact) == 4
    for seed in range(5):
        sides = side_of(make_split(dataset, seed=seed, groups=findings.link_sets()))
        for n in range(4):
            assert sides[root.resolve() / "1x1" / f"1x1_{n}.jpg"] == sides[root.resolve() / "1x1" / f"copy_{n}.jpg"]
