"""The captures layout: `<root>/<part>/<session>/<view>.jpg` plus one `manifest.jsonl` per session.

A manifest line is appended only after its image is safely on disk (temp file, fsync,
rename, directory fsync), so a crash can leave an image without a line, never a line
without an image. Readers skip a torn last line for the same reason.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator

MANIFEST_NAME = "manifest.jsonl"
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def validate_id(value: str, what: str = "part id") -> str:
    """Return `value` if it is safe as a folder name (letters, digits, . _ -), else raise ValueError."""
    if not isinstance(value, str) or not _SAFE_ID.fullmatch(value) or ".." in value:
        raise ValueError(
            f"{what} {value!r} is not allowed: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return value


@dataclass(frozen=True)
class CaptureRecord:
    """One captured image as the manifest describes it."""

    part: str
    session: str
    view: int
    angle_deg: float
    box: list[int] | None = None  # [x, y, w, h] of the brick in the frame, if detected
    camera: dict[str, Any] = field(default_factory=dict)  # locked controls, camera spec
    file: str = ""  # path relative to the captures root, filled in by the writer
    sha256: str = ""
    time: float = 0.0
    source: str = "camera"  # "camera" or "synth"


def view_file_name(view: int) -> str:
    """File name of view `view` inside its session folder."""
    return f"{view:04d}.jpg"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class ManifestWriter:
    """Writes images and their manifest lines under a captures root."""

    def __init__(self, root: Path | str, durable: bool = True) -> None:
        """`durable=False` skips the fsyncs (keeping temp file and rename): for data that can be
        regenerated, like rendered images, where they would cost more than the rendering."""
        self.root = Path(root)
        self.durable = durable

    def session_dir(self, part: str, session: str) -> Path:
        """Folder of one session (created on first write)."""
        return self.root / validate_id(part) / validate_id(session, "session id")

    def write_image(self, record: CaptureRecord, jpeg_bytes: bytes) -> CaptureRecord:
        """Store `jpeg_bytes` as the image of `record`, then append its manifest line.

        Returns the record with `file`, `sha256` and `time` filled in."""
        if record.view < 0:
            raise ValueError(f"view must be >= 0, got {record.view}")
        folder = self.session_dir(record.part, record.session)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / view_file_name(record.view)
        tmp = folder / f".{target.name}.tmp"
        with open(tmp, "wb") as f:
            f.write(jpeg_bytes)
            f.flush()
            if self.durable:
                os.fsync(f.fileno())
        os.replace(tmp, target)
        if self.durable:
            _fsync_dir(folder)
        done = replace(
            record,
            file=target.relative_to(self.root).as_posix(),
            sha256=hashlib.sha256(jpeg_bytes).hexdigest(),
            time=record.time or time.time(),
        )
        with open(folder / MANIFEST_NAME, "a", encoding="utf-8") as f:
            f.write(json.dumps(asdict(done), sort_keys=True) + "\n")
            f.flush()
            if self.durable:
                os.fsync(f.fileno())
        return done


def read_session_manifest(session_dir: Path) -> list[CaptureRecord]:
    """Records of one session, in order; a torn (crash-truncated) last line is skipped."""
    path = Path(session_dir) / MANIFEST_NAME
    if not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    records = []
    for number, line in enumerate(lines, start=1):
        try:
            records.append(CaptureRecord(**json.loads(line)))
        except (json.JSONDecodeError, TypeError) as exc:
            if number == len(lines):
                break  # the write that a crash interrupted
            raise ValueError(f"{path}:{number}: malformed manifest line: {exc}") from exc
    return records


def iter_records(root: Path | str) -> Iterator[CaptureRecord]:
    """Every record under a captures root, part by part, session by session."""
    root = Path(root)
    for manifest in sorted(root.glob(f"*/*/{MANIFEST_NAME}")):
        yield from read_session_manifest(manifest.parent)


def is_captures_root(root: Path | str) -> bool:
    """True when `root` holds the captures layout (session manifests) rather than plain class folders."""
    return any(Path(root).glob(f"*/*/{MANIFEST_NAME}"))
