"""The simulated world alone: it follows executed moves, pushes bricks into the bin the chute points at,
feeds the next brick after a gap, and rebuilds itself from its log."""
from __future__ import annotations

import json

import pytest

from device.cameras.errors import CameraSpecError
from device.cameras.registry import make_camera
from device.world import sim_camera  # noqa: F401  registers `sim`
from device.world.feeder import Feeder, FeederConfig
from device.world.world import SimulatedWorld, WorldAxes, WorldFaults
from device.world.world_log import WorldLog, WorldLogError, replay
from firmware_bridge.virtual_marlin import ExecutedMove

AXES = WorldAxes(turntable="X", chute="Y", degrees_per_bin=30.0, bins=8, pusher="Z", stroke_mm=60.0)


def move(command, start, end):
    return ExecutedMove(command=command, line_number=None, start=start, end=end, duration_s=0.1)


def world(tmp_path, count=3, gap_frames=2, **kwargs):
    feeder = Feeder(FeederConfig(parts=("3001", "3003"), count=count, delay_s=0.0, gap_frames=gap_frames, seed=1))
    return SimulatedWorld(AXES, feeder, WorldLog(tmp_path / "world.jsonl"), time_scale=0.0, **kwargs)


def push(w, chute_from=0.0, chute_to=None):
    if chute_to is not None:
        w.on_move(move(f"G1 Y{chute_to}", {"Y": chute_from}, {"Y": chute_to}))
    w.on_move(move("G1 Z60", {"Z": 0.0}, {"Z": 60.0}))
    w.on_move(move("G1 Z0", {"Z": 60.0}, {"Z": 0.0}))


def test_feeder_waits_for_empty_frames_then_places_a_known_brick(tmp_path):
    w = world(tmp_path, gap_frames=2)
    assert w.observe()[0] is None and w.observe()[0] is None  # the gap: two empty frames
    (seq, brick), angle = w.observe()
    assert seq == 0 and brick.part_id in ("3001", "3003") and angle == 0.0
    assert w.brick_on_table() == (0, brick.part_id)


def test_table_angle_adds_up_relative_turns_and_survives_a_board_reset(tmp_path):
    w = world(tmp_path)
    w.on_move(move("G1 X120", {"X": 0.0}, {"X": 120.0}))
    w.on_move(move("G1 X120", {"X": 120.0}, {"X": 240.0}))
    # the board resets: Marlin counts from 0 again, the table does not jump
    w.on_move(move("G1 X120", {"X": 0.0}, {"X": 120.0}))
    assert w.observe()[1] == pytest.approx(0.0)


def test_push_moves_the_brick_into_the_bin_the_chute_points_at(tmp_path):
    w = world(tmp_path, gap_frames=1)
    while w.observe()[0] is None:
        pass
    push(w, chute_to=90.0)
    assert w.state.bins == {0: 3} and w.brick_on_table() is None
    log = [json.loads(line) for line in (tmp_path / "world.jsonl").read_text().splitlines()]
    assert [e["event"] for e in log] == ["fed", "binned"]


def test_chute_between_bins_drops_the_brick_on_the_floor_and_homing_resets_it(tmp_path):
    w = world(tmp_path, gap_frames=1)
    while w.observe()[0] is None:
        pass
    push(w, chute_to=45.0)
    assert w.state.bins == {0: None}
    w.on_move(move("G28 Y Z", {"Y": 45.0, "Z": 0.0}, {"Y": 0.0, "Z": 0.0}))
    assert w.chute_bin() == 0


def test_stuck_brick_stays_and_each_failed_push_is_logged(tmp_path):
    w = world(tmp_path, gap_frames=1, faults=WorldFaults(stuck_seqs=frozenset({0})))
    while w.observe()[0] is None:
        pass
    push(w)
    push(w)
    assert w.state.jams == 2 and w.brick_on_table()[0] == 0


def test_a_restarted_world_has_the_brick_left_on_the_table_and_feeds_on_from_there(tmp_path):
    w = world(tmp_path, gap_frames=1)
    while w.observe()[0] is None:
        pass
    push(w, chute_to=30.0)
    while w.observe()[0] is None:
        pass
    left = w.brick_on_table()
    w.log.close()
    again = world(tmp_path, gap_frames=1)
    assert again.brick_on_table() == left
    push(again)
    while again.observe()[0] is None:
        pass
    assert again.brick_on_table()[0] == 2 and again.state.bins == {0: 1, 1: 0}


def test_replay_ignores_a_torn_last_line_but_refuses_contradictions(tmp_path):
    log = tmp_path / "world.jsonl"
    log.write_text('{"event": "fed", "seq": 0, "part": "3001"}\n{"event": "binned", "se')
    assert replay(log).on_table == 0
    log.write_text('{"event": "binned", "seq": 4, "bin": 1}\n')
    with pytest.raises(WorldLogError, match="brick 4 binned but it is not on the table"):
        replay(log)


def test_a_file_that_is_not_a_world_log_is_refused_by_name(tmp_path):
    log = tmp_path / "photo.jpg"
    log.write_bytes(b"\xff\xd8\xff\xe0 not text")
    with pytest.raises(WorldLogError, match="photo.jpg is not a world log"):
        WorldLog(log)
    log.write_text('[1, 2]\n{"event": "fed", "seq": 0, "part": "3001"}\n')
    with pytest.raises(WorldLogError, match="photo.jpg:1: not a JSON object"):
        replay(log)


def test_a_log_closed_before_any_event_is_removed_only_if_this_run_made_it(tmp_path):
    untouched = WorldLog(tmp_path / "new.jsonl")
    untouched.close()
    assert not (tmp_path / "new.jsonl").exists()  # a session that failed before feeding leaves nothing
    used = WorldLog(tmp_path / "used.jsonl")
    used.record("fed", 0, part="3001")
    used.close()
    assert replay(tmp_path / "used.jsonl").on_table == 0
    kept = tmp_path / "given.jsonl"
    kept.write_text("")
    WorldLog(kept).close()
    assert kept.is_file()  # the user's file, even empty, is not ours to delete


def test_feeder_is_reproducible_and_validates_its_parts():
    feeder = Feeder(FeederConfig(parts=("3001", "3003", "3004"), seed=9))
    assert [feeder.brick(i) for i in range(5)] == [feeder.brick(i) for i in range(5)]
    with pytest.raises(ValueError, match="cannot be simulated"):
        FeederConfig(parts=("9999",))


def test_sim_camera_renders_the_table_and_names_bad_options(tmp_path):
    w = world(tmp_path, gap_frames=1)
    with make_camera("sim:size=64", world=w) as camera:
        frames = [camera.read() for _ in range(3)]
    assert frames[0].image.shape == (64, 64, 3) and frames[0].metadata["brick_seq"] is None
    assert frames[-1].metadata["brick_seq"] == 0
    with pytest.raises(CameraSpecError, match="--simulate"):
        make_camera("sim")
    with pytest.raises(CameraSpecError, match=r"\['zoom'\] unknown"):
        make_camera("sim:zoom=2", world=w)


def test_the_twin_camera_sees_at_the_size_synth_renders_training_frames_by_default(tmp_path):
    # A model trained on 600x600 renders sorted 57.6% right when the twin's camera gave
    # 300x300 frames, against 91.0% at the size it was trained at.
    from device.sim.synth import SynthConfig

    with make_camera("sim", world=world(tmp_path, gap_frames=1)) as camera:
        assert camera.read().image.shape[:2] == SynthConfig(tmp_path / "out").size_hw
