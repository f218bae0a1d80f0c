"""Rendered bricks train beside the photos: for the parts the simulator knows, at the photos'
size, rendered once and then taken from the cache, never half-written."""
import json
from dataclasses import replace

import cv2
import numpy as np
import pytest

from tiny_brick_photos import write_class_folders
from tiny_training import tiny_config
from trainer.data.dataset import ImageItem
from trainer.data.rendered_extra import frame_size_hw, rendered_parts


@pytest.fixture
def part_photos(tmp_path):
    """Photos filed under two catalogue part ids and one part the simulator lacks."""
    root = write_class_folders(tmp_path / "data", per_class=8)
    for shape, part in (("2x4", "3001"), ("1x1", "3005-unknown"), ("slope", "3039")):
        (root / shape).rename(root / part)
    return root


def _items(sizes_hw, folder):
    items = []
    for i, (height, width) in enumerate(sizes_hw):
        path = folder / f"{i}.png"
        cv2.imwrite(str(path), np.zeros((height, width, 3), np.uint8))
        items.append(ImageItem(path=path, label="a", group=str(i)))
    return items


def test_frame_size_is_the_photos_median_height_and_width_shrunk_to_the_largest_side(tmp_path):
    items = _items([(120, 160), (120, 160), (90, 100)], tmp_path)
    assert frame_size_hw(items) == (120, 160)
    assert frame_size_hw(_items([(3000, 4000)], tmp_path), max_side=400) == (300, 400)


def test_frame_size_needs_a_readable_image(tmp_path):
    (tmp_path / "bad.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(ValueError, match="none of the sampled images could be read"):
        frame_size_hw([ImageItem(path=tmp_path / "bad.jpg", label="a", group="0")])


def test_known_parts_are_rendered_once_then_taken_from_the_cache(tmp_path, monkeypatch):
    import trainer.data.rendered_extra as rendered_extra

    cache = tmp_path / "renders"
    first = rendered_parts(["3001", "mystery", "3039"], 2, 2, (64, 80), cache, progress=False)
    assert [folder.name for folder in first.folders] == ["3001", "3039"]
    assert first.missing == ("mystery",)
    frames = sorted(first.folders[0].glob("3001/*/*.jpg"))
    assert len(frames) == 4  # 2 bricks x 2 views, a session each
    assert cv2.imread(str(frames[0])).shape == (64, 80, 3)  # (height, width)

    def no_rendering(*args, **kwargs):
        raise AssertionError("rendered again")

    monkeypatch.setattr(rendered_extra, "synthesize", no_rendering)
    assert rendered_parts(["3039", "3001"], 2, 2, (64, 80), cache, progress=False).folders == (first.folders[1], first.folders[0])


def test_an_interrupted_render_leaves_nothing_that_looks_finished(tmp_path, monkeypatch):
    import trainer.data.rendered_extra as rendered_extra

    real = rendered_extra.synthesize

    def interrupted(config, progress=True):
        real(config, progress=progress)
        raise KeyboardInterrupt

    monkeypatch.setattr(rendered_extra, "synthesize", interrupted)
    with pytest.raises(KeyboardInterrupt):
        rendered_parts(["3001"], 1, 1, (48, 48), tmp_path, progress=False)
    assert not any(path.name == "3001" for path in tmp_path.rglob("*"))  # the temporary folder went too
    monkeypatch.setattr(rendered_extra, "synthesize", real)
    assert len(list(rendered_parts(["3001"], 1, 1, (48, 48), tmp_path, progress=False).folders[0].rglob("*.jpg"))) == 1


def test_a_part_another_worker_rendered_meanwhile_is_taken_as_it_is(tmp_path, monkeypatch):
    import trainer.data.rendered_extra as rendered_extra

    real = rendered_extra.synthesize
    theirs: list = []

    def raced(config, progress=True):
        # The other machine of a multi-worker run renders the same seeded part and renames it first.
        done_elsewhere = config.out.parent.parent / "3001"
        real(replace(config, out=done_elsewhere), progress=progress)
        theirs.extend(sorted(path.relative_to(done_elsewhere) for path in done_elsewhere.rglob("*")))
        real(config, progress=progress)

    monkeypatch.setattr(rendered_extra, "synthesize", raced)
    folder = rendered_parts(["3001"], 1, 1, (48, 48), tmp_path, progress=False).folders[0]
    assert theirs and sorted(path.relative_to(folder) for path in folder.rglob("*")) == theirs
    assert [path.name for path in folder.parent.iterdir()] == ["3001"]  # our own copy was cleaned away


def test_a_run_trains_on_renders_of_its_known_parts_only_and_its_held_out_photos_stay_its_own(tmp_path, part_photos):
    from trainer.train.run import prepare_run

    base = tmp_path / "base"
    config = tiny_config(base, name="rendered", data_root=part_photos, synth_bricks=3, synth_views=2)
    data = prepare_run(config)
    rendered = [item for item in data.extra if "renders" in item.path.parts]
    assert sorted({item.label for item in rendered}) == ["3001", "3039"]
    assert len(rendered) + len(json.loads((config.run_dir / "extra-left-out.json").read_text())) == 2 * 3 * 2
    photo_hw = cv2.imread(str(next(part_photos.glob("3001/*.jpg")))).shape[:2]
    assert cv2.imread(str(rendered[0].path)).shape[:2] == photo_hw
    assert all(part_photos not in item.path.parents for item in data.extra)  # held-out photos never train

    photos_only = prepare_run(tiny_config(base, name="photos", data_root=part_photos, synth_bricks=0))
    assert photos_only.extra == [] and photos_only.split.test == data.split.test


def test_parts_rendered_in_parallel_processes_are_the_same_images_as_one_by_one(tmp_path):
    together = rendered_parts(["3001", "3039", "3004"], 2, 2, (48, 64), tmp_path / "parallel", progress=False, workers=2)
    one_by_one = rendered_parts(["3001", "3039", "3004"], 2, 2, (48, 64), tmp_path / "serial", progress=False, workers=1)
    for mine, theirs in zip(together.folders, one_by_one.folders):
        frames = sorted(path.relative_to(mine) for path in mine.rglob("*.jpg"))
        assert len(frames) == 4 and frames == sorted(path.relative_to(theirs) for path in theirs.rglob("*.jpg"))
        assert all((mine / frame).read_bytes() == (theirs / frame).read_bytes() for frame in frames)
    assert not list((tmp_path / "parallel").rglob(".*"))  # no temporary folder left behind


def test_a_part_that_fails_to_render_in_a_worker_fails_the_run_and_leaves_nothing_that_looks_finished(tmp_path):
    with pytest.raises(RuntimeError, match="rendering part (3001|3039) failed(.|\n)*size must be two sizes"):
        rendered_parts(["3001", "3039"], 1, 1, (0, 64), tmp_path, progress=False, workers=2)
    assert not [path for path in tmp_path.rglob("*") if path.name in ("3001", "3039")]


def test_a_script_without_a_main_guard_renders_in_parallel_too(tmp_path):
    import subprocess
    import sys

    script = tmp_path / "unguarded.py"
    script.write_text(
        "from trainer.data.rendered_extra import rendered_parts\n"
        f"rendered = rendered_parts(['3001', '3039'], 1, 1, (48, 48), {str(tmp_path / 'cache')!r}, progress=False, workers=2)\n"
        "print(sum(1 for folder in rendered.folders for _ in folder.rglob('*.jpg')))\n"
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["2"]


def test_the_rendering_processes_leave_every_renders_crop_facts_in_the_cache(tmp_path, monkeypatch):
    from trainer.data import analysis

    rendered = rendered_parts(["3001", "3039"], 2, 2, (64, 80), tmp_path / "renders", progress=False, workers=2, facts_cache=tmp_path / "facts")
    frames = sorted(path for folder in rendered.folders for path in folder.rglob("*.jpg"))
    assert len(frames) == 8 and len(list((tmp_path / "facts").rglob("*.facts"))) == 8
    fresh = analysis.analyse_images(frames, progress=False)  # no cache: computed here

    def no_analysis(*args, **kwargs):
        raise AssertionError("analysed again")

    monkeypatch.setattr(analysis, "brick_box_and_crop", no_analysis)
    cached = analysis.analyse_images(frames, cache_dir=tmp_path / "facts", progress=False)
    assert [fact.box for fact in cached] == [fact.box for fact in fresh]
    assert all(np.array_equal(a.descriptor, b.descriptor) for a, b in zip(cached, fresh))
