"""The sort loop's parts, each alone, and the loop over a fake table: order of moves, bins, jams, lost ports, stop."""
from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sort_fakes import FakeCamera, FakeRig, FakeTable  # noqa: E402
from tiny_bundle import class_colour, make_tiny_bundle  # noqa: E402

from device.sort.bins_config import bins_config_from_dict
from device.sort.eject import TableNotClearError, eject
from device.sort.eyes import Eyes, EyesConfig
from device.sort.journal import JAMMED, REJECTED, SORTED, UNRESOLVED, Journal, read_bricks
from device.sort.loop import LoopSettings, SortLoop
from device.sort.recognise import Recogniser, recogniser_from_bundle
from device.sort.review import ReviewPolicy
from device.sort.status import StatusLine
from device.sort.views import take_views

LABELS = ["3001", "3003", "3004"]
BINS = bins_config_from_dict(
    {"reject_bin": 0, "bin": [{"index": 1, "parts": ["3001"]}, {"index": 2, "parts": ["3003"]}, {"index": 3, "parts": ["3004"]}]}
)
PURPLE = (135, 40, 130)  # half-way between the tiny model's red and blue: about 0.5 sure, below THRESHOLD
THRESHOLD = 0.7


@pytest.fixture(scope="module")
def recogniser(tmp_path_factory):
    bundle = make_tiny_bundle(tmp_path_factory.mktemp("bundle") / "b", LABELS, (32, 32), "int8")
    loaded = recogniser_from_bundle(str(bundle.path))
    return Recogniser(loaded.model, loaded.input_hw, loaded.margin, THRESHOLD)


def make_loop(
    tmp_path, recogniser, queue, *, jam=0, vanish_on=None, views=3, should_stop=lambda: False, table=None, frame_limit=None, **settings
):
    log: list[str] = []
    table = table or FakeTable(queue=list(queue))
    rig = FakeRig(table, log, jam=jam, vanish_on=vanish_on)
    table.rig = rig
    camera = FakeCamera(table, log, frame_limit)
    camera.open()
    eyes = Eyes(camera, tmp_path / "background.npz", EyesConfig(learn_frames=2))
    journal = Journal.open(tmp_path / "journal.sqlite")
    status = StatusLine(BINS, stream=io.StringIO())
    loop = SortLoop(
        rig, eyes, recogniser, BINS, journal, LoopSettings(views=views, reconnect_delay_s=0, idle_timeout_s=5, **settings),
        review=ReviewPolicy(tmp_path / "review", keep_below=0.5), status=status, should_stop=should_stop, say=lambda _: None,
    )
    return loop, table, log, journal


def test_take_views_turns_between_views_and_waits_for_motion_before_every_grab():
    log: list[str] = []
    table = FakeTable(queue=[])
    rig, camera = FakeRig(table, log), FakeCamera(table, log)
    camera.open()
    frames = take_views(rig, Eyes(camera), 4)
    assert len(frames) == 4 and rig.angle == 360.0 * 3 / 4
    assert log == ["M400", "frame", "turn", "M400", "frame", "turn", "M400", "frame", "turn", "M400", "frame"]


class ScriptedWatcher:
    def __init__(self, answers):
        self.answers = list(answers)

    def table_clear(self):
        return self.answers.pop(0)


def test_eject_pushes_again_once_when_the_table_is_not_clear():
    log: list[str] = []
    rig = FakeRig(FakeTable(queue=[]), log)
    assert eject(rig, ScriptedWatcher([False, True]), 2) == 2
    assert rig.chute == 2 and log == ["select_bin", "push", "M400", "push", "M400"]


def test_eject_raises_the_alarm_after_the_retry_fails():
    log: list[str] = []
    with pytest.raises(TableNotClearError, match="not clear after 2 pushes into bin 3"):
        eject(FakeRig(FakeTable(queue=[]), log), ScriptedWatcher([False, False]), 3)
    assert log.count("push") == 2


def test_loop_sorts_each_brick_into_its_parts_bin_and_journals_it(tmp_path, recogniser):
    colours = [class_colour(1), class_colour(0), class_colour(2), class_colour(1)]
    loop, table, log, journal = make_loop(tmp_path, recogniser, colours, max_bricks=4)
    result = loop.run()
    journal.close()
    assert result.outcomes == {SORTED: 4} and "4 bricks" in result.reason
    assert table.bins == {2: [colours[0], colours[3]], 1: [colours[1]], 3: [colours[2]]}
    rows = read_bricks(tmp_path / "journal.sqlite")
    assert [(r.decision, r.bin, r.outcome) for r in rows] == [
        ("3003", 2, SORTED), ("3001", 1, SORTED), ("3004", 3, SORTED), ("3003", 2, SORTED)
    ]
    assert all(len(r.views) == 3 and r.confidence > THRESHOLD for r in rows)
    assert log[-2:] == ["M400", "M84"]  # steppers off at the end
    assert "bricks 4" in loop.status.stream.getvalue()


class TurningTable(FakeTable):
    """A brick that shows `hidden` only at table angles half-way between the first look's views,
    `face` everywhere else; remembers the table angle of every photo of a brick."""

    def __init__(self, face, hidden=None):
        super().__init__(queue=[face])
        self.face, self.hidden, self.rig, self.angles = face, hidden or face, None, []

    def frame(self):
        image = super().frame()
        if self.on_table is not None:
            angle = self.rig.angle % 360
            self.angles.append(angle)
            image[34:62, 30:66] = self.hidden if round(angle) % 120 == 60 else self.face
        return image


def test_unsure_brick_gets_a_second_look_half_way_between_the_first_views_then_is_rejected(tmp_path, recogniser):
    table = TurningTable(PURPLE)
    loop, _, _, journal = make_loop(tmp_path, recogniser, [], table=table, max_bricks=1)
    loop.run()
    journal.close()
    (row,) = read_bricks(tmp_path / "journal.sqlite")
    assert row.outcome == REJECTED and row.bin == 0 and table.bins == {0: [PURPLE]}
    assert row.confidence < THRESHOLD and len(row.views) == 6
    assert len(row.images) == 6 and all(Path(p).is_file() for p in row.images)
    photographed = sorted({round(a) for a in table.angles[-7:]})  # the settle frame, then the six views
    assert {0, 60, 120, 180, 240, 300} <= set(photographed)


def test_second_look_sorts_a_brick_whose_part_shows_between_the_first_views(tmp_path, recogniser):
    table = TurningTable(PURPLE, hidden=class_colour(1))
    loop, _, _, journal = make_loop(tmp_path, recogniser, [], table=table, max_bricks=1)
    loop.run()
    journal.close()
    (row,) = read_bricks(tmp_path / "journal.sqlite")
    assert (row.decision, row.bin, row.outcome) == ("3003", 2, SORTED) and len(row.views) == 6
    assert table.bins == {2: [PURPLE]}


def test_without_the_second_look_an_unsure_brick_is_rejected_after_its_first_views(tmp_path, recogniser):
    table = TurningTable(PURPLE, hidden=class_colour(1))
    loop, _, _, journal = make_loop(tmp_path, recogniser, [], table=table, max_bricks=1, second_look=False)
    loop.run()
    journal.close()
    (row,) = read_bricks(tmp_path / "journal.sqlite")
    assert row.outcome == REJECTED and len(row.views) == 3 and table.bins == {0: [PURPLE]}


def test_jammed_brick_is_journalled_and_the_loop_stops_with_the_steppers_off(tmp_path, recogniser):
    loop, table, log, journal = make_loop(tmp_path, recogniser, [class_colour(0), class_colour(1)], jam=2, max_bricks=5)
    result = loop.run()
    journal.close()
    assert result.reason == "jammed"
    (row,) = read_bricks(tmp_path / "journal.sqlite")
    assert row.outcome == JAMMED and "not clear after 2 pushes" in row.note
    assert log.count("push") == 2 and log[-1] == "M84"
    assert table.on_table == class_colour(0)


def test_lost_port_marks_the_brick_unresolved_and_reconnects_before_sorting_on(tmp_path, recogniser):
    colours = [class_colour(0), class_colour(2)]
    loop, table, log, journal = make_loop(tmp_path, recogniser, colours, vanish_on="push", max_bricks=3)
    result = loop.run()
    journal.close()
    rows = read_bricks(tmp_path / "journal.sqlite")
    # the brick whose push never happened is still on the table: seen again, sorted under a new row
    assert [(r.decision, r.outcome) for r in rows] == [("3001", UNRESOLVED), ("3001", SORTED), ("3004", SORTED)]
    assert "PortVanishedError" in rows[0].note
    assert result.reconnects == 1
    assert log.index("connect") < len(log) - log[::-1].index("push")  # reconnected before the next push
    assert table.bins == {1: [colours[0]], 3: [colours[1]]}


def test_a_recording_that_ends_ends_the_session_with_the_steppers_off(tmp_path, recogniser):
    colours = [class_colour(0), class_colour(2)]
    loop, table, log, journal = make_loop(tmp_path, recogniser, colours, frame_limit=20)
    result = loop.run()
    journal.close()
    assert result.reason == "the camera's recording ended (fake: recording over)"
    assert log[-1] == "M84"
    rows = read_bricks(tmp_path / "journal.sqlite")
    assert rows and all(row.outcome in (SORTED, UNRESOLVED) for row in rows)  # a brick cut off mid-views is unresolved


def test_stop_request_finishes_the_brick_in_hand_first(tmp_path, recogniser):
    state = {"stop": False}
    loop, table, log, journal = make_loop(
        tmp_path, recogniser, [class_colour(0), class_colour(1)], should_stop=lambda: state["stop"]
    )
    real_recognise = loop.recogniser.recognise

    def recognise_then_ask_to_stop(frames, earlier=None):
        state["stop"] = True  # as SIGTERM would, mid-brick
        return real_recognise(frames, earlier)

    loop.recogniser.recognise = recognise_then_ask_to_stop
    result = loop.run()
    journal.close()
    assert result.outcomes == {SORTED: 1} and result.reason == "stop requested"
    assert table.bins == {1: [class_colour(0)]} and log[-1] == "M84"


def test_a_restarted_sorter_reuses_the_saved_background_and_sees_the_brick_left_on_the_table(tmp_path, recogniser):
    loop, table, _, journal = make_loop(tmp_path, recogniser, [class_colour(2)], max_bricks=1)
    loop.run()
    journal.close()
    assert (tmp_path / "background.npz").is_file()
    # second run: a brick is already lying on the table when the sorter starts
    loop, table, _, journal = make_loop(tmp_path, recogniser, [], max_bricks=1)
    table.on_table = class_colour(0)
    loop.run()
    journal.close()
    assert table.bins == {1: [class_colour(0)]}
