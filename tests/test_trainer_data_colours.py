"""Brick colours in the audit: the findings a model could be misled by (a colour one part owns,
a part captured in one colour), and the chart and lines that show them."""
from __future__ import annotations

import pytest

from tiny_brick_photos import SHAPES, brick_photo, write_rgb
from trainer.data.audit import AuditConfig, run_audit
from trainer.data.audit_report import write_audit
from trainer.data.colours import ColourConfig, colour_summary

def test_a_colour_one_part_owns_and_a_part_in_one_colour_are_found_and_small_counts_are_not_judged():
    labels = ["a"] * 30 + ["a"] * 10 + ["b"] * 25 + ["b"] * 25 + ["c"] * 22 + ["d"] * 5
    names = ["green"] * 30 + ["red"] * 10 + ["red"] * 25 + ["blue"] * 25 + ["red"] * 22 + ["purple"] * 5
    summary = colour_summary(list(zip(labels, names)), ["a", "b", "c", "d"], ColourConfig(min_photos=20))
    assert summary["owned_by_one_class"] == [
        {"colour": "green", "class": "a", "photos": 30, "share": 1.0},
        {"colour": "blue", "class": "b", "photos": 25, "share": 1.0},
    ]
    assert summary["one_colour_classes"] == [{"class": "c", "colour": "red", "photos": 22, "share": 1.0}]
    assert summary["per_class"]["a"] == {"red": 10, "green": 30}  # in the report's colour order
    assert summary["per_class"]["d"] == {"purple": 5}


def test_a_single_class_owns_no_colour():
    summary = colour_summary([("a", "red")] * 30, ["a"], ColourConfig(min_photos=20))
    assert summary["owned_by_one_class"] == []
    assert summary["one_colour_classes"] == [{"class": "a", "colour": "red", "photos": 30, "share": 1.0}]


def test_colour_config_refuses_shares_that_cannot_single_out_one_part():
    with pytest.raises(ValueError, match="owned_share"):
        ColourConfig(owned_share=0.5)
    with pytest.raises(ValueError, match="min_photos"):
        ColourConfig(min_photos=0)


def test_the_audit_finds_a_colour_only_one_part_was_photographed_in(tmp_path):
    colours = {"2x4": [(40, 150, 60)] * 6, "1x1": [(200, 30, 20)] * 4 + [(20, 70, 200)] * 4, "slope": [(200, 30, 20)] * 6}
    for label, rgbs in colours.items():
        for n, rgb in enumerate(rgbs):
            photo = brick_photo(SHAPES[label], rgb, (44 + n % 3 * 3, 46 + n % 2 * 4), seed=n, angle_deg=25.0 * n)
            write_rgb(tmp_path / "data" / label / f"{label}_{n}.png", photo)
    result = run_audit(tmp_path / "data", AuditConfig(colours=ColourConfig(min_photos=4), cache_dir=tmp_path / "cache"), progress=False)
    found = result.summary["colours"]
    assert found["per_class"] == {"1x1": {"red": 4, "blue": 4}, "2x4": {"green": 6}, "slope": {"red": 6}}
    assert [(o["colour"], o["class"]) for o in found["owned_by_one_class"]] == [("green", "2x4"), ("blue", "1x1")]
    assert [(o["class"], o["colour"]) for o in found["one_colour_classes"]] == [("2x4", "green"), ("slope", "red")]
    report = write_audit(result, tmp_path / "out").read_text()
    assert (tmp_path / "out" / "colours.png").stat().st_size > 0
    assert "**green** is almost only 2x4's: 100% of its 6 photos" in report
    assert "captured (almost) only in **green**: 2x4" in report


def test_the_cached_colour_is_the_one_the_sorter_names_in_the_same_photo(tmp_path):
    from device.vision.colour import brick_colour_name
    from trainer.data.analysis import analyse_images
    from trainer.data.images import read_image_rgb

    path = write_rgb(tmp_path / "2x4" / "a.png", brick_photo(SHAPES["2x4"], (40, 150, 60), (48, 48), seed=3))
    fresh, cached = (analyse_images([path], cache_dir=tmp_path / "cache", progress=False)[0] for _ in range(2))
    assert fresh.colour == cached.colour == brick_colour_name(read_image_rgb(path), fresh.box) == "green"
