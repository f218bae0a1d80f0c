"""The parts of a capture session on their own: settings, planning, resume checks, table moves."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from device.cameras import Camera, Frame
from device.capture.brick_waiters import EnterWaiter
from device.capture.manifest import CaptureRecord, ManifestWriter, read_session_manifest
from device.capture.session import CaptureSettings, Turntable, capture_view, missing_views, plan_capture, view_angle


@pytest.mark.parametrize("part", ["../etc", "a/b", "", "-rf", "3001 ", "x" * 65, "..", "brick\n"])
def test_unsafe_part_ids_are_refused(part: str) -> None:
    with pytest.raises(ValueError, match="part id .* is not allowed"):
        CaptureSettings(part=part, views=8)


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"views": 0}, "--views must be between 1 and 360"),
        ({"views": 8, "bricks": 0}, "--bricks must be >= 1"),
        ({"views": 8, "settle_s": -1}, "settle time"),
        ({"views": 8, "session": "a/b"}, "session name 'a/b' is not allowed"),
    ],
)
def test_bad_settings_get_specific_errors(fields: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CaptureSettings(part="3001", **fields)


def test_several_bricks_get_one_numbered_session_each() -> None:
    assert CaptureSettings(part="3001", views=4, session="run").session_names() == ["run"]
    assert CaptureSettings(part="3001", views=4, bricks=3, session="run").session_names() == [
        "run-b01", "run-b02", "run-b03"
    ]


def test_views_are_evenly_spaced() -> None:
    assert [view_angle(v, 8) for v in range(8)] == [0, 45, 90, 135, 180, 225, 270, 315]


def save_views(root: Path, session: str, views: int, taken: list[int]) -> Path:
    writer = ManifestWriter(root)
    for view in taken:
        writer.write_image(CaptureRecord("3001", session, view, view_angle(view, views)), b"jpeg bytes")
    return writer.session_dir("3001", session)


def test_missing_views_are_those_not_in_the_manifest(tmp_path: Path) -> None:
    session_dir = save_views(tmp_path, "s", 6, [0, 1, 3])
    assert missing_views(read_session_manifest(session_dir), 6, session_dir) == [2, 4, 5]


def test_resuming_with_another_view_count_is_refused(tmp_path: Path) -> None:
    save_views(tmp_path, "s", 6, [0, 1])
    settings = CaptureSettings(part="3001", views=8, session="s", resume=True)
    with pytest.raises(ValueError, match="view 1 was recorded at 60.0 degrees, which does not fit --views 8"):
        plan_capture(settings, tmp_path)


def test_a_manifest_entry_whose_image_vanished_is_reported(tmp_path: Path) -> None:
    session_dir = save_views(tmp_path, "s", 4, [0, 1])
    (session_dir / "0001.jpg").unlink()
    with pytest.raises(OSError, match="manifest lists 3001/s/0001.jpg but the image is missing"):
        plan_capture(CaptureSettings(part="3001", views=4, session="s", resume=True), tmp_path)


def test_an_existing_session_is_only_extended_with_resume(tmp_path: Path) -> None:
    save_views(tmp_path, "s", 4, [0, 1])
    with pytest.raises(ValueError, match="already holds 2 views; pass --resume"):
        plan_capture(CaptureSettings(part="3001", views=4, session="s"), tmp_path)
    (plan,) = plan_capture(CaptureSettings(part="3001", views=4, session="s", resume=True), tmp_path)
    assert (plan.session, [r.view for r in plan.records], plan.todo) == ("s", [0, 1], [2, 3])


def test_resuming_a_session_that_saved_nothing_is_refused_naming_the_sessions_there(tmp_path: Path) -> None:
    save_views(tmp_path, "monday", 4, [0, 1])
    with pytest.raises(ValueError, match="no view of session 'mondya' was saved .* sessions there: monday"):
        plan_capture(CaptureSettings(part="3001", views=4, session="mondya", resume=True), tmp_path)


class RecordingRig:
    """Notes the moves a Turntable asks for (the virtual Marlin tests cover the real rig)."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def turn_table(self, degrees: float) -> None:
        self.calls.append(("turn", degrees))

    def wait_for_moves(self) -> None:
        self.calls.append(("wait",))


def test_turntable_turns_forward_and_waits_after_each_move() -> None:
    rig = RecordingRig()
    table = Turntable(rig, settle_s=0.0, angle_deg=270.0)
    for angle in (315.0, 0.0, 0.0, 90.0):
        table.move_to(angle)
    assert rig.calls == [("turn", 45.0), ("wait",), ("turn", 45.0), ("wait",), ("turn", 90.0), ("wait",)]
    assert table.angle_deg == 90.0


class CountingLiveCamera(Camera):
    """A live camera whose n-th frame has every pixel equal to n."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def _open(self) -> None: ...

    def _read(self) -> Frame:
        self.reads += 1
        return Frame(np.full((8, 8, 3), self.reads, np.uint8), float(self.reads))

    def _lock_exposure(self) -> dict:
        return {}

    def _close(self) -> None: ...


def test_a_live_camera_drops_frames_buffered_during_the_turn(tmp_path: Path) -> None:
    settings = CaptureSettings(part="3001", views=4, session="s", settle_s=0.0, stale_frames=2)
    with CountingLiveCamera() as camera:
        record = capture_view(
            camera, Turntable(RecordingRig(), 0.0), ManifestWriter(tmp_path), lambda image: None, settings, "s", 1, {}
        )
    saved = cv2.imdecode(np.fromfile(tmp_path / record.file, np.uint8), cv2.IMREAD_COLOR)
    assert camera.reads == 3 and int(np.median(saved)) == 3  # frames 1 and 2 were stale
    assert (record.view, record.angle_deg, record.box) == (1, 90.0, None)


def test_manual_mode_explains_a_closed_stdin() -> None:
    def closed(prompt: str) -> str:
        raise EOFError

    prompts: list[str] = []
    EnterWaiter(lambda prompt: prompts.append(prompt) or "")(2, 5)
    assert prompts == ["Place brick 2/5 on the turntable and press Enter: "]
    with pytest.raises(OSError, match="standard input closed while waiting for Enter"):
        EnterWaiter(closed)(1, 1)


@pytest.mark.parametrize("durable, fsyncs", [(True, 3), (False, 0)])
def test_the_manifest_writer_fsyncs_image_folder_and_line_unless_told_the_data_can_be_regenerated(
    tmp_path, monkeypatch, durable, fsyncs
):
    import os

    calls = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append(fd), real_fsync(fd)))
    written = ManifestWriter(tmp_path, durable=durable).write_image(CaptureRecord("3001", "s1", 0, 0.0), b"jpeg bytes")

    assert len(calls) == fsyncs
    assert (tmp_path / written.file).read_bytes() == b"jpeg bytes"
    assert [r.file for r in read_session_manifest(tmp_path / "3001" / "s1")] == [written.file]
    assert not list((tmp_path / "3001" / "s1").glob(".*.tmp"))
