"""Brick colours in the audit: a name for each brick under a tinted light, judged on the brick's
own pixels, and the findings a model could be misled by (a colour one part owns, a part in one
colour)."""
from __future__ import annotations

import numpy as np
import pytest

from device.vision.box import Box
from tiny_brick_photos import SHAPES, brick_photo, write_rgb
from trainer.data.audit import AuditConfig, run_audit
from trainer.data.audit_report import write_audit
from trainer.data.colours import ColourConfig, balanced_brick_rgb, colour_name, colour_summary

PINK_LIGHT = np.array([1.0, 0.75, 0.9])  # the tint a rig's lamp puts on table and brick alike
TABLE_RGB = (232, 228, 230)
BOX = Box(x=20, y=24, w=24, h=16)  # in a 64 x 64 frame, the thumbnail's own size


def lit_thumbnail(brick_rgb: tuple[int, int, int], hole: bool = False) -> np.ndarray:
    """A 64 x 64 frame of the table with a brick filling BOX, both under PINK_LIGHT; `hole`
    shows the table through the middle of the brick, as an arch does."""
    frame = np.empty((64, 64, 3), np.float64)
    frame[:] = TABLE_RGB
    frame[BOX.y : BOX.y + BOX.h, BOX.x : BOX.x + BOX.w] = brick_rgb
    if hole:
        frame[BOX.y + 4 : BOX.y + BOX.h, BOX.x + 6 : BOX.x + BOX.w - 6] = TABLE_RGB
    return np.clip(frame * PINK_LIGHT, 0, 255).astype(np.uint8)


def name_of(brick_rgb: tuple[int, int, int], hole: bool = False) -> str:
    return colour_name(*balanced_brick_rgb(lit_thumbnail(brick_rgb, hole), BOX, (64, 64)))


@pytest.mark.parametrize(
    "rgb, expected",
    [
        ((201, 26, 9), "red"),
        ((242, 205, 55), "yellow"),
        ((187, 233, 11), "lime"),
        ((24, 80, 50), "dark green"),
        ((0, 85, 191), "blue"),
        ((242, 243, 242), "white"),
        ((20, 24, 28), "black"),
        ((100, 60, 160), "purple"),
    ],
)
def test_a_brick_is_named_by_its_own_colour_under_a_pink_light(rgb, expected):
    assert name_of(rgb) == expected


def test_without_white_balance_the_pink_light_would_turn_a_white_brick_pink():
    tinted = lit_thumbnail((242, 243, 242))[BOX.y + 8, BOX.x + 12]
    assert colour_name(tinted, float(np.mean(TABLE_RGB * PINK_LIGHT))) != "white"
    assert name_of((242, 243, 242)) == "white"


def test_an_arch_is_named_by_its_bricks_pixels_not_the_table_through_its_hole():
    assert name_of((201, 26, 9), hole=True) == "red"


def test_a_brick_the_colour_of_the_table_falls_back_to_the_middle_of_its_box():
    rgb, table = balanced_brick_rgb(lit_thumbnail(TABLE_RGB), BOX, (64, 64))
    assert colour_name(rgb, table) == "white"


def test_a_colour_one_part_owns_and_a_part_in_one_colour_are_found_and_small_counts_are_not_judged():
    labels = ["a"] * 30 + ["a"] * 10 + ["b"] * 25 + ["b"] * 25 + ["c"] * 22 + ["d"] * 5
    names = ["green"] * 30 + ["red"] * 10 + ["red"] * 25 + ["blue"] * 25 + ["red"] * 22 + ["purple"] * 5
    summary = colour_summary(labels, names, ["a", "b", "c", "d"], ColourConfig(min_photos=20))
    assert summary["owned_by_one_class"] == [
        {"colour": "green", "class": "a", "photos": 30, "share": 1.0},
        {"colour": "blue", "class": "b", "photos": 25, "share": 1.0},
    ]
    assert summary["one_colour_classes"] == [{"class": "c", "colour": "red", "photos": 22, "share": 1.0}]
    assert summary["per_class"]["a"] == {"red": 10, "green": 30}  # in the report's colour order
    assert summary["per_class"]["d"] == {"purple": 5}


def test_a_single_class_owns_no_colour():
    summary = colour_summary(["a"] * 30, ["red"] * 30, ["a"], ColourConfig(min_photos=20))
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
