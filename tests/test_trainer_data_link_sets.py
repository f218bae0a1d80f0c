"""The split's duplicate link sets are computed once per dataset content and read back after."""
from __future__ import annotations

import shutil

from tiny_brick_photos import write_class_folders

from trainer.data import link_sets as link_sets_module
from trainer.data.dataset import load_dataset
from trainer.data.link_sets import duplicate_link_sets


def dataset_with_a_copy(root):
    write_class_folders(root, per_class=4, classes=("2x4", "1x1"))
    first = sorted((root / "2x4").iterdir())[0]
    shutil.copyfile(first, root / "2x4" / f"copy-of-{first.name}")
    return load_dataset(root), first


def names(groups):
    return sorted(sorted(path.name for path in group) for group in groups)


def test_link_sets_hold_the_planted_copy_and_are_read_back_without_analysis(tmp_path, monkeypatch):
    dataset, first = dataset_with_a_copy(tmp_path / "data")
    computed = duplicate_link_sets(dataset, tmp_path / "cache")
    assert [first.name, f"copy-of-{first.name}"] in names(computed)
    assert len(list((tmp_path / "cache" / "link-sets").glob("*.json"))) == 1

    def no_analysis(*args, **kwargs):
        raise AssertionError("analysed the images again although the link sets were cached")

    monkeypatch.setattr(link_sets_module, "analyse_images", no_analysis)
    again = duplicate_link_sets(load_dataset(tmp_path / "data"), tmp_path / "cache")
    assert names(again) == names(computed)
    assert all(path.is_file() for group in again for path in group)


def test_changed_bytes_or_a_damaged_cache_file_mean_a_fresh_search(tmp_path):
    dataset, first = dataset_with_a_copy(tmp_path / "data")
    duplicate_link_sets(dataset, tmp_path / "cache")
    stored = next((tmp_path / "cache" / "link-sets").glob("*.json"))
    stored.write_text("[[", encoding="utf-8")
    assert [first.name, f"copy-of-{first.name}"] in names(duplicate_link_sets(dataset, tmp_path / "cache"))

    # The copy now differs from its original by bytes: a new key, and the exact link is gone.
    last = sorted(path for path in (tmp_path / "data" / "2x4").iterdir() if not path.name.startswith("copy-of-"))[-1]
    shutil.copyfile(last, tmp_path / "data" / "2x4" / f"copy-of-{first.name}")
    changed = duplicate_link_sets(load_dataset(tmp_path / "data"), tmp_path / "cache")
    assert [first.name, f"copy-of-{first.name}"] not in names(changed)
    assert len(list((tmp_path / "cache" / "link-sets").glob("*.json"))) == 2
