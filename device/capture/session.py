"""Turntable capture sessions: one brick per session, N views around it, each filed with its manifest line.

The parts, smallest first: `view_angle` and `missing_views` plan a session (and check a
resumed one against what it recorded), `Turntable` moves the table to a view's angle and
waits until it is still, `capture_view` grabs and files one view, `capture_brick` does the
views of one brick, and `run_capture` does the bricks of a run. Waiting for a brick is a
callable (`BrickWaiter`), so a detector or a person pressing Enter can fill that role.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol

import cv2
import numpy as np

from device.cameras import Camera, Frame
from device.capture.manifest import CaptureRecord, ManifestWriter, read_session_manifest, validate_id
from device.vision.box import Box
from device.vision.detector import SettleTracker

Detector = Callable[[np.ndarray], Box | None]
# Called before a brick's first view with (brick number from 1, bricks in the run).
BrickWaiter = Callable[[int, int], None]
ANGLE_TOLERANCE_DEG = 1e-6


class TableDriver(Protocol):
    """What a capture needs from the rig (`firmware_bridge.rig.Rig` provides it)."""

    def turn_table(self, degrees: float) -> None: ...

    def wait_for_moves(self) -> None: ...


@dataclass(frozen=True)
class CaptureSettings:
    """One capture run: `bricks` sessions of `views` views of part `part`."""

    part: str
    views: int
    bricks: int = 1
    session: str = field(default_factory=lambda: time.strftime("%Y%m%d-%H%M%S"))
    settle_s: float = 0.3  # after M400 the table still rocks a little; let it stop
    jpeg_quality: int = 95
    stale_frames: int = 2  # frames a live camera may have buffered during the turn; dropped
    resume: bool = False

    def __post_init__(self) -> None:
        validate_id(self.part)
        validate_id(self.session, "session name")
        if not 1 <= self.views <= 360:
            raise ValueError(f"--views must be between 1 and 360, got {self.views}")
        if self.bricks < 1:
            raise ValueError(f"--bricks must be >= 1, got {self.bricks}")
        if not 0.0 <= self.settle_s <= 10.0:
            raise ValueError(f"settle time must be between 0 and 10 s, got {self.settle_s}")
        if not 1 <= self.jpeg_quality <= 100:
            raise ValueError(f"JPEG quality must be between 1 and 100, got {self.jpeg_quality}")
        if self.stale_frames < 0:
            raise ValueError(f"stale_frames must be >= 0, got {self.stale_frames}")

    def session_names(self) -> list[str]:
        """The session of each brick: the name itself for one brick, `NAME-bNN` for several."""
        if self.bricks == 1:
            return [self.session]
        return [f"{self.session}-b{number:02d}" for number in range(1, self.bricks + 1)]


@dataclass(frozen=True)
class CaptureSummary:
    """What a run did: views written now, views found already done, views where no brick was seen."""

    written: int
    skipped: int
    undetected: list[str]
    sessions: list[str]


def view_angle(view: int, views: int) -> float:
    """Turntable angle in degrees of view `view` out of `views` evenly spaced ones."""
    return view * 360.0 / views


def missing_views(records: list[CaptureRecord], views: int, session_dir: Path) -> list[int]:
    """Views of a session not yet in its manifest, in order. Refuses a manifest made with another
    view count or whose image has gone, since resuming it would mix angles or hide a loss."""
    done: set[int] = set()
    for record in records:
        if not 0 <= record.view < views or abs(record.angle_deg - view_angle(record.view, views)) > ANGLE_TOLERANCE_DEG:
            raise ValueError(
                f"{session_dir}: view {record.view} was recorded at {record.angle_deg} degrees, which does not fit "
                f"--views {views}; resume with the view count the session was started with"
            )
        if not (session_dir.parent.parent / record.file).is_file():
            raise OSError(f"{session_dir}: manifest lists {record.file} but the image is missing")
        done.add(record.view)
    return [view for view in range(views) if view not in done]


class Turntable:
    """Moves the table forward to absolute angles (relative moves on the rig), then waits for M400
    and the settle time. Always turning forward keeps gear backlash on one side."""

    def __init__(self, rig: TableDriver, settle_s: float, angle_deg: float = 0.0) -> None:
        self.rig = rig
        self.settle_s = settle_s
        self.angle_deg = angle_deg

    def move_to(self, angle_deg: float) -> None:
        """Turn forward to `angle_deg` (mod 360) and return once the table is still."""
        delta = (angle_deg - self.angle_deg) % 360.0
        if delta > ANGLE_TOLERANCE_DEG and 360.0 - delta > ANGLE_TOLERANCE_DEG:
            self.rig.turn_table(delta)
            self.rig.wait_for_moves()
            time.sleep(self.settle_s)
        self.angle_deg = angle_deg % 360.0


def encode_jpeg(image_rgb: np.ndarray, quality: int) -> bytes:
    """JPEG bytes of an RGB image (OpenCV encodes BGR, hence the swap)."""
    ok, buffer = cv2.imencode(".jpg", cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise OSError("OpenCV could not encode the frame as JPEG")
    return buffer.tobytes()


def capture_view(
    camera: Camera,
    table: Turntable,
    writer: ManifestWriter,
    detect: Detector,
    settings: CaptureSettings,
    session: str,
    view: int,
    camera_info: dict[str, Any],
) -> CaptureRecord:
    """Turn to `view`'s angle, grab a frame, find the brick, and file image then manifest line."""
    angle = view_angle(view, settings.views)
    table.move_to(angle)
    for _ in range(settings.stale_frames if camera.is_live else 0):
        camera.read()
    frame = camera.read()
    box = detect(frame.image)
    record = CaptureRecord(
        part=settings.part,
        session=session,
        view=view,
        angle_deg=angle,
        box=box.as_list() if box is not None else None,
        camera=camera_info,
    )
    return writer.write_image(record, encode_jpeg(frame.image, settings.jpeg_quality))


def capture_brick(
    camera: Camera,
    table: Turntable,
    writer: ManifestWriter,
    detect: Detector,
    settings: CaptureSettings,
    session: str,
    views: list[int],
    camera_info: dict[str, Any],
    on_view: Callable[[CaptureRecord], None] = lambda record: None,
) -> list[CaptureRecord]:
    """Capture `views` of the brick on the table, then turn on to 0 degrees for the next brick."""
    records = []
    for view in views:
        record = capture_view(camera, table, writer, detect, settings, session, view, camera_info)
        records.append(record)
        on_view(record)
    table.move_to(0.0)
    return records


@dataclass(frozen=True)
class SessionPlan:
    """One brick's session: the views its manifest already holds and the views still to take."""

    session: str
    records: list[CaptureRecord]
    todo: list[int]


def plan_capture(settings: CaptureSettings, root: Path) -> list[SessionPlan]:
    """What a run has to do, read from the manifests under `root`. Refuses to add to an existing
    session unless resuming, so a forgotten --session never mixes two bricks."""
    writer = ManifestWriter(root)
    plans = []
    for session in settings.session_names():
        session_dir = writer.session_dir(settings.part, session)
        records = read_session_manifest(session_dir)
        if records and not settings.resume:
            raise ValueError(
                f"session {session_dir} already holds {len(records)} views; pass --resume to finish it "
                "or choose another --session"
            )
        plans.append(SessionPlan(session, records, missing_views(records, settings.views, session_dir)))
    if settings.resume and not any(plan.records for plan in plans):
        part_dir = writer.session_dir(settings.part, plans[0].session).parent
        present = sorted(path.name for path in part_dir.iterdir() if path.is_dir()) if part_dir.is_dir() else []
        raise ValueError(
            f"--resume: no view of session {settings.session!r} was saved under {part_dir}, so there is nothing to finish (run without --resume to start it); "
            f"sessions there: {', '.join(present) or 'none'}"
        )
    return plans


def run_capture(
    settings: CaptureSettings,
    plans: list[SessionPlan],
    camera: Camera,
    rig: TableDriver,
    root: Path,
    detect: Detector,
    wait_for_brick: BrickWaiter,
    camera_info: dict[str, Any],
    on_view: Callable[[CaptureRecord], None] = lambda record: None,
) -> CaptureSummary:
    """Carry out `plans` (camera open, rig connected, exposure locked by the caller).

    Finished sessions are skipped; an unfinished one is taken to still have its brick on the
    table, standing where its last recorded view was taken."""
    writer = ManifestWriter(root)
    written, undetected = 0, []
    for number, plan in enumerate(plans, start=1):
        if not plan.todo:
            continue
        if plan.records:
            start = view_angle(plan.records[-1].view, settings.views)
        else:
            wait_for_brick(number, len(plans))
            start = 0.0
        table = Turntable(rig, settings.settle_s, angle_deg=start)
        for record in capture_brick(camera, table, writer, detect, settings, plan.session, plan.todo, camera_info, on_view):
            written += 1
            if record.box is None:
                undetected.append(record.file)
    skipped = sum(settings.views - len(plan.todo) for plan in plans)
    return CaptureSummary(written, skipped, undetected, [plan.session for plan in plans])


def wait_until_present(camera: Camera, presence: Detector, settle: SettleTracker, poll_s: float = 0.1) -> Frame:
    """Read preview frames (`Camera.read_preview`) until `presence` sees a brick that `settle`
    says has come to rest (a hand placing it moves); returns the frame that settled it."""
    settle.reset()
    while True:
        frame = camera.read_preview()
        if settle.update(presence(frame.image)):
            return frame
        time.sleep(poll_s)


def wait_until_clear(camera: Camera, presence: Detector, frames: int = 3, poll_s: float = 0.1) -> None:
    """Read preview frames until `presence` has seen no brick in `frames` consecutive ones."""
    empty = 0
    while empty < frames:
        empty = empty + 1 if presence(camera.read_preview().image) is None else 0
        if empty < frames:
            time.sleep(poll_s)
