"""Capture sessions end to end: `bricksort capture` with a folder camera against the virtual Marlin on a real pty.

The folder camera replays what a camera over the turntable would see: the empty table while
the background is learned, a brick arriving and holding still, then one frame per view."""
from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from capture_fixtures import brick_box, table_frame, write_frames
from bricksort.cli import main
from device.capture import manifest
from device.capture.manifest import read_session_manifest
from firmware_bridge.rig_config import example_rig_path
from firmware_bridge.virtual_marlin import VirtualMarlin

REPO = Path(__file__).resolve().parents[1]
LEARN, SETTLE, CLEAR = 5, 3, 3  # DetectorWaiter: empty frames learned, SettleTracker frames, clear frames


@pytest.fixture
def marlin() -> VirtualMarlin:
    with VirtualMarlin(time_scale=0) as board:
        yield board


@pytest.fixture
def rig_toml(tmp_path: Path, marlin: VirtualMarlin) -> Path:
    """The example rig config pointed at the virtual Marlin's pty."""
    port = marlin.path
    text = example_rig_path().read_text(encoding="utf-8").replace('"/dev/bricksort-ramps"', f'"{port}"')
    assert port in text
    path = tmp_path / "rig.toml"
    path.write_text(text, encoding="utf-8")
    return path


def brick_run_frames(views: int) -> list:
    """What the camera sees for one brick: (empty table,) brick placed and still, then each view."""
    placed = [table_frame(brick_box(0))] * SETTLE
    return placed + [table_frame(brick_box(view)) for view in range(views)]


def capture_args(root: Path, rig: Path, camera: str, *extra: str) -> list[str]:
    return ["capture", "--part", "3001", "--views", "4", "--rig", str(rig), "--camera", camera,
            "--root", str(root), "--settle", "0", *extra]


def assert_manifest_matches_files(session_dir: Path) -> list:
    """Every manifest line has its image, byte for byte; returns the records."""
    records = read_session_manifest(session_dir)
    for record in records:
        image = session_dir.parents[1] / record.file
        assert image.is_file(), record.file
        assert hashlib.sha256(image.read_bytes()).hexdigest() == record.sha256
    return records


def table_degrees_turned(marlin: VirtualMarlin) -> float:
    return sum(move.end["X"] - move.start["X"] for move in marlin.executed_moves)


def test_two_bricks_are_captured_view_by_view(tmp_path: Path, rig_toml: Path, marlin: VirtualMarlin) -> None:
    empty = [table_frame(None)]
    frames = empty * LEARN + brick_run_frames(4) + empty * CLEAR + brick_run_frames(4)
    camera = write_frames(tmp_path / "camera", frames)
    root = tmp_path / "captures"

    assert main(capture_args(root, rig_toml, f"folder:{camera}", "--bricks", "2", "--session", "run")) == 0

    # Three quarter turns between the four views of a brick, and one more back to the start.
    assert table_degrees_turned(marlin) == pytest.approx(2 * 360.0)
    for session in ("run-b01", "run-b02"):
        records = assert_manifest_matches_files(root / "3001" / session)
        assert [(r.view, r.angle_deg) for r in records] == [(0, 0.0), (1, 90.0), (2, 180.0), (3, 270.0)]
        assert [r.box for r in records] == [brick_box(view).as_list() for view in range(4)]
        assert {r.part for r in records} == {"3001"} and {r.session for r in records} == {session}
        assert records[0].camera == {"spec": f"folder:{camera}", "controls": {}}
        assert sorted(p.name for p in (root / "3001" / session).iterdir()) == [
            "0000.jpg", "0001.jpg", "0002.jpg", "0003.jpg", "manifest.jsonl"
        ]


def test_an_existing_session_is_not_overwritten_without_resume(tmp_path: Path, rig_toml: Path, capsys) -> None:
    camera = write_frames(tmp_path / "camera", [table_frame(None)] * LEARN + brick_run_frames(4))
    root = tmp_path / "captures"
    assert main(capture_args(root, rig_toml, f"folder:{camera}", "--session", "s1")) == 0
    before = (root / "3001" / "s1" / "manifest.jsonl").read_bytes()

    assert main(capture_args(root, rig_toml, f"folder:{camera}", "--session", "s1")) == 2
    assert "already holds 4 views; pass --resume" in capsys.readouterr().err
    assert (root / "3001" / "s1" / "manifest.jsonl").read_bytes() == before


def test_unsafe_part_id_is_refused_before_anything_is_written(tmp_path: Path, rig_toml: Path, capsys) -> None:
    args = capture_args(tmp_path / "captures", rig_toml, f"folder:{tmp_path}")
    args[args.index("3001")] = "../escape"
    assert main(args) == 2
    assert "part id '../escape' is not allowed" in capsys.readouterr().err
    assert not (tmp_path / "captures").exists()


def test_a_root_that_is_a_file_is_refused_before_the_rig_or_camera_opens(tmp_path: Path, capsys) -> None:
    root = tmp_path / "captures.txt"
    root.write_text("not a folder")
    # No board on this port and no such camera: the root is refused before either is tried.
    args = capture_args(root, tmp_path / "no-rig.toml", "folder:/nowhere")
    assert main(args) == 2
    assert "--root" in capsys.readouterr().err and root.read_text() == "not a folder"


def test_a_failure_between_image_and_manifest_line_is_repaired_by_resume(
    tmp_path: Path, rig_toml: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    camera = write_frames(tmp_path / "camera", [table_frame(None)] * LEARN + brick_run_frames(4))
    root = tmp_path / "captures"
    real_fsync_dir, calls = manifest._fsync_dir, []

    def crash_on_third_view(path: Path) -> None:
        # Runs after the image is renamed into place and before its manifest line is appended.
        calls.append(path)
        real_fsync_dir(path)
        if len(calls) == 3:
            raise OSError("power cut")

    monkeypatch.setattr(manifest, "_fsync_dir", crash_on_third_view)
    assert main(capture_args(root, rig_toml, f"folder:{camera}", "--session", "s1")) == 2
    session_dir = root / "3001" / "s1"
    assert [r.view for r in assert_manifest_matches_files(session_dir)] == [0, 1]
    assert (session_dir / "0002.jpg").is_file()  # on disk, but not in the manifest

    monkeypatch.setattr(manifest, "_fsync_dir", real_fsync_dir)
    # The brick is still on the table: the camera now sees views 2 and 3.
    rest = write_frames(tmp_path / "rest", [table_frame(brick_box(v)) for v in (2, 3)])
    assert main(capture_args(root, rig_toml, f"folder:{rest}", "--session", "s1", "--resume")) == 0
    records = assert_manifest_matches_files(session_dir)
    assert [r.view for r in records] == [0, 1, 2, 3]
    assert [r.box for r in records] == [brick_box(v).as_list() for v in range(4)]


def test_a_capture_killed_mid_run_leaves_no_entry_without_its_image_and_resumes(tmp_path: Path, rig_toml: Path) -> None:
    views = 8
    frames = [table_frame(None)] * LEARN + [table_frame(brick_box(0))] * SETTLE
    frames += [table_frame(brick_box(v)) for v in range(views)]
    camera = write_frames(tmp_path / "camera", frames)
    root = tmp_path / "captures"
    session_dir = root / "3001" / "s1"
    args = capture_args(root, rig_toml, f"folder:{camera}", "--session", "s1")
    args[args.index("--views") + 1] = str(views)
    args[args.index("--settle") + 1] = "0.3"  # slow enough to be caught in the middle
    process = subprocess.Popen(
        [sys.executable, "-m", "bricksort", *args], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 30
        while len(read_session_manifest(session_dir)) < 3:
            assert process.poll() is None, process.stdout.read().decode()
            assert time.monotonic() < deadline, "capture never got going"
            time.sleep(0.02)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=10)
        process.stdout.close()

    done = [r.view for r in assert_manifest_matches_files(session_dir)]
    assert 3 <= len(done) < views and done == list(range(len(done)))

    rest = write_frames(tmp_path / "rest", [table_frame(brick_box(v)) for v in range(len(done), views)])
    resume = capture_args(root, rig_toml, f"folder:{rest}", "--session", "s1", "--resume")
    resume[resume.index("--views") + 1] = str(views)
    assert main(resume) == 0
    records = assert_manifest_matches_files(session_dir)
    assert [r.view for r in records] == list(range(views))
    assert [r.angle_deg for r in records] == [45.0 * v for v in range(views)]
    assert sorted(p.name for p in session_dir.glob("*.jpg")) == [f"{v:04d}.jpg" for v in range(views)]
