"""The sorter's colour check: a brick whose part no training photo showed in its colour is
rejected (the model guessed outside what it learnt) and the journal says why; a bundle without
part colours, or --no-colour-check, sorts as before."""
from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sort_fakes import BACKGROUND  # noqa: E402
from test_sort_loop_parts import LABELS, THRESHOLD, make_loop  # noqa: E402
from tiny_bundle import class_colour, make_tiny_bundle  # noqa: E402

from device.classifier.bundle import BundleError, load_bundle, write_bundle
from device.sort.command import colour_check_line
from device.sort.journal import REJECTED, SORTED, read_bricks
from device.sort.recognise import Recogniser, recogniser_from_bundle

RED, GREEN, BLUE = class_colour(0), class_colour(1), class_colour(2)  # the tiny model reads them as 3001, 3003, 3004
# 3003 was photographed in red only: a green brick the model calls 3003 is outside what it learnt.
PART_COLOURS = {"3001": {"red": 4}, "3003": {"red": 2}, "3004": {"blue": 3}}


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return make_tiny_bundle(tmp_path_factory.mktemp("bundle") / "b", LABELS, (32, 32), "int8")


def checking(bundle, part_colours=PART_COLOURS) -> Recogniser:
    loaded = recogniser_from_bundle(str(bundle.path))
    return Recogniser(loaded.model, loaded.input_hw, loaded.margin, THRESHOLD, part_colours)


def table_frame(brick_rgb) -> np.ndarray:
    frame = np.full((96, 96, 3), BACKGROUND, np.uint8)
    frame[34:62, 30:66] = brick_rgb
    return frame


def test_each_view_is_named_and_a_part_never_seen_in_the_bricks_colour_is_flagged(bundle):
    recognition = checking(bundle).recognise([table_frame(GREEN)] * 3)
    assert recognition.decision.part == "3003" and recognition.decision.confidence >= THRESHOLD
    assert recognition.colours == ("green", "green", "green")
    assert recognition.unseen_colour == "green"


def test_a_part_seen_in_the_bricks_colour_passes(bundle):
    recognition = checking(bundle).recognise([table_frame(RED)] * 3)
    assert recognition.decision.part == "3001" and recognition.unseen_colour is None


def test_the_bricks_colour_is_the_most_views_colour(bundle):
    recognition = checking(bundle, {"3001": {"blue": 1}, "3003": {"red": 1}, "3004": {"blue": 1}}).recognise(
        [table_frame(RED), table_frame(RED), table_frame(BLUE)]
    )
    assert recognition.colours == ("red", "red", "blue")
    assert recognition.decision.part == "3001" and recognition.unseen_colour == "red"


def test_without_part_colours_nothing_is_named_or_flagged(bundle):
    recognition = checking(bundle, None).recognise([table_frame(GREEN)] * 3)
    assert recognition.colours == () and recognition.unseen_colour is None


def test_the_loop_rejects_a_brick_of_an_unseen_colour_and_journals_why(tmp_path, bundle):
    loop, table, _, journal = make_loop(tmp_path, checking(bundle), [RED, GREEN, BLUE], max_bricks=3)
    result = loop.run()
    journal.close()
    assert result.outcomes == {SORTED: 2, REJECTED: 1}
    assert table.bins == {1: [RED], 0: [GREEN], 3: [BLUE]}
    rows = read_bricks(tmp_path / "journal.sqlite")
    assert [(r.decision, r.outcome) for r in rows] == [("3001", SORTED), ("3003", REJECTED), ("3004", SORTED)]
    assert rows[1].note == "colour check: no training photo shows 3003 in green"
    assert len(rows[1].views) == 6  # it had its second look, which saw the same colour
    assert rows[0].note is None and rows[2].note is None


def test_a_bundle_carries_its_part_colours_and_refuses_ones_for_parts_it_lacks(tmp_path, bundle):
    models = {name: (bundle.path / name).read_bytes() for name in bundle.metadata.models.values()}
    written = write_bundle(tmp_path / "with", models, LABELS, replace(bundle.metadata, part_colours=PART_COLOURS))
    assert written.metadata.part_colours == PART_COLOURS
    assert "on (3 part-colour pairs" in colour_check_line(written, recogniser_from_bundle(written))
    assert colour_check_line(written, recogniser_from_bundle(written, colour_check=False)) == "colour check: off (--no-colour-check)"
    assert "records no part colours" in colour_check_line(bundle, recogniser_from_bundle(bundle))
    meta = json.loads((tmp_path / "with" / "metadata.json").read_text())
    meta["part_colours"]["9999"] = {"red": 1}
    (tmp_path / "with" / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(BundleError, match=r"part_colours names parts that are not in labels.json: \['9999'\]"):
        load_bundle(tmp_path / "with")


def test_a_colour_of_the_same_family_counts_as_seen(bundle):
    # A red brick's shaded views read dark red: photos of 3001 in dark red vouch for a red one.
    recognition = checking(bundle, {"3001": {"dark red": 3}, "3003": {"red": 1}, "3004": {"blue": 1}}).recognise([table_frame(RED)] * 3)
    assert recognition.colours == ("red", "red", "red") and recognition.unseen_colour is None


def test_a_part_photographed_in_most_colour_families_is_not_checked(bundle):
    # Seven families of 3003 photos (no green among them): the model was shown that 3003's colour
    # does not name it, so a green one is not a blind spot.
    diverse = {name: 2 for name in ("white", "black", "brown", "orange", "yellow", "red", "blue")}
    recognition = checking(bundle, {"3001": {"red": 1}, "3003": diverse, "3004": {"blue": 1}}).recognise([table_frame(GREEN)] * 3)
    assert recognition.decision.part == "3003" and recognition.unseen_colour is None
    fewer = dict(list(diverse.items())[:6])
    assert checking(bundle, {"3001": {"red": 1}, "3003": fewer, "3004": {"blue": 1}}).recognise([table_frame(GREEN)] * 3).unseen_colour == "green"
