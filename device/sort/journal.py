"""The sort journal: one SQLite database (WAL mode), a row per brick.

A brick's row is inserted as `in_flight` before the rig moves it and updated once its fate
is known, each step in its own committed transaction. A process that dies mid-brick
therefore leaves an `in_flight` row behind; the next `Journal.open` marks every such row
`unresolved` (the brick may be in a bin, on the floor or still on the table: the journal
does not guess, and never calls it `sorted`).
"""
from __future__ import annotations

import json
import os
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1

IN_FLIGHT = "in_flight"
SORTED = "sorted"  # pushed into the bin of the decided part, table seen clear
REJECTED = "rejected"  # pushed into the reject bin, table seen clear
JAMMED = "jammed"  # still on the table after the push and one retry; the loop stopped
UNRESOLVED = "unresolved"  # its fate is unknown: the port was lost or the process died mid-brick
OUTCOMES = (IN_FLIGHT, SORTED, REJECTED, JAMMED, UNRESOLVED)
FINAL_OUTCOMES = (SORTED, REJECTED, JAMMED, UNRESOLVED)

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started REAL NOT NULL,
    ended REAL,
    pid INTEGER NOT NULL,
    recovered INTEGER NOT NULL DEFAULT 0,
    info TEXT NOT NULL DEFAULT '{{}}'
);
CREATE TABLE IF NOT EXISTS bricks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session INTEGER NOT NULL REFERENCES sessions(id),
    started REAL NOT NULL,
    finished REAL,
    outcome TEXT NOT NULL CHECK (outcome IN ({", ".join(repr(o) for o in OUTCOMES)})),
    views TEXT NOT NULL DEFAULT '[]',
    decision TEXT,
    confidence REAL,
    bin INTEGER,
    truth TEXT,
    truth_ref TEXT,
    images TEXT NOT NULL DEFAULT '[]',
    note TEXT
);
CREATE INDEX IF NOT EXISTS bricks_outcome ON bricks(outcome);
"""


class JournalError(OSError):
    """The journal database cannot be opened or is not a bricksort journal."""


@dataclass(frozen=True)
class BrickRow:
    """One brick as the journal holds it."""

    id: int
    session: int
    started: float
    finished: float | None
    outcome: str
    views: list[list[list[Any]]]  # per view, its top (part, probability) pairs
    decision: str | None  # the fused top part, also kept for rejected bricks
    confidence: float | None
    bin: int | None
    truth: str | None
    truth_ref: str | None
    images: list[str]
    note: str | None


@dataclass(frozen=True)
class JournalSummary:
    """What `bricksort journal` prints."""

    bricks: int
    outcomes: dict[str, int]
    per_bin: dict[int, int]  # bricks pushed into each bin (sorted and rejected)
    active_minutes: float  # sum over sessions of first brick start .. last brick end
    bricks_per_minute: float
    with_truth: int  # sorted bricks whose true part is known (simulation)
    correct: int  # ... whose decision was the true part
    sessions: int
    recovered: int  # in-flight rows found and marked unresolved at start-ups
    saved_images: int
    per_decision: dict[str, int] = field(default_factory=dict)


def _connect(path: Path, read_only: bool = False) -> sqlite3.Connection:
    try:
        if read_only:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10.0)
        else:
            conn = sqlite3.connect(path, timeout=10.0, isolation_level=None)
        conn.execute("PRAGMA busy_timeout = 10000")
        return conn
    except sqlite3.Error as exc:
        raise JournalError(f"cannot open journal {path}: {exc}") from None


def _row(raw: tuple) -> BrickRow:
    (id_, session, started, finished, outcome, views, decision, confidence, bin_, truth, truth_ref, images, note) = raw
    return BrickRow(
        id=id_, session=session, started=started, finished=finished, outcome=outcome, views=json.loads(views),
        decision=decision, confidence=confidence, bin=bin_, truth=truth, truth_ref=truth_ref,
        images=json.loads(images), note=note,
    )


_COLUMNS = "id, session, started, finished, outcome, views, decision, confidence, bin, truth, truth_ref, images, note"


class Journal:
    """Writer of the journal for one sorting session. Open with `Journal.open(path)`; close when done."""

    def __init__(self, conn: sqlite3.Connection, path: Path, session: int, recovered: list[int]) -> None:
        self._conn = conn
        self.path = path
        self.session = session
        self.recovered = recovered  # ids of in-flight rows this start-up marked unresolved

    @classmethod
    def open(cls, path: Path | str, info: dict[str, Any] | None = None) -> "Journal":
        """Open (creating if needed) the journal at `path`, recover leftover in-flight rows, start a session."""
        path = Path(path)
        if path.parent and not path.parent.is_dir():
            raise JournalError(f"cannot create journal {path}: folder {path.parent} does not exist")
        conn = _connect(path)
        try:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise JournalError(f"journal {path}: SQLite refused WAL mode (got {mode!r})")
            # FULL: a committed in-flight row survives a power cut, not only a crash.
            conn.execute("PRAGMA synchronous = FULL")
            conn.executescript(_SCHEMA)
            stored = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if stored is None:
                conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            elif stored[0] != str(SCHEMA_VERSION):
                raise JournalError(f"journal {path} has schema version {stored[0]}; this bricksort writes {SCHEMA_VERSION}")
            now = time.time()
            conn.execute("BEGIN IMMEDIATE")
            leftover = [r[0] for r in conn.execute("SELECT id FROM bricks WHERE outcome = ?", (IN_FLIGHT,))]
            conn.execute(
                "UPDATE bricks SET outcome = ?, finished = ?, note = COALESCE(note || '; ', '') || ? WHERE outcome = ?",
                (UNRESOLVED, now, "in flight when the sorter stopped; found at the next start-up", IN_FLIGHT),
            )
            cursor = conn.execute(
                "INSERT INTO sessions (started, pid, recovered, info) VALUES (?, ?, ?, ?)",
                (now, os.getpid(), len(leftover), json.dumps(info or {})),
            )
            conn.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise JournalError(f"journal {path} is not a usable SQLite database: {exc}") from None
        except BaseException:
            conn.close()
            raise
        return cls(conn, path, int(cursor.lastrowid), leftover)

    def begin_brick(self, truth: str | None = None, truth_ref: str | None = None) -> int:
        """Insert an in-flight row for the brick on the table (call before moving it); returns its id."""
        cursor = self._conn.execute(
            "INSERT INTO bricks (session, started, outcome, truth, truth_ref) VALUES (?, ?, ?, ?, ?)",
            (self.session, time.time(), IN_FLIGHT, truth, truth_ref),
        )
        return int(cursor.lastrowid)

    def record_decision(
        self, brick: int, views: list[list[tuple[str, float]]], decision: str | None, confidence: float, bin_index: int
    ) -> None:
        """Store what the loop saw and decided; the brick stays in flight until `finish_brick`."""
        self._conn.execute(
            "UPDATE bricks SET views = ?, decision = ?, confidence = ?, bin = ? WHERE id = ? AND outcome = ?",
            (json.dumps(views), decision, confidence, bin_index, brick, IN_FLIGHT),
        )

    def finish_brick(self, brick: int, outcome: str, images: list[str] | None = None, note: str | None = None) -> None:
        """Record the brick's fate; only an in-flight row can be finished."""
        if outcome not in FINAL_OUTCOMES:
            raise ValueError(f"outcome must be one of {FINAL_OUTCOMES}, got {outcome!r}")
        cursor = self._conn.execute(
            "UPDATE bricks SET outcome = ?, finished = ?, images = ?, note = ? WHERE id = ? AND outcome = ?",
            (outcome, time.time(), json.dumps(images or []), note, brick, IN_FLIGHT),
        )
        if cursor.rowcount != 1:
            raise ValueError(f"brick {brick} is not in flight in journal {self.path}")

    def close(self) -> None:
        """End the session and close the database."""
        try:
            self._conn.execute("UPDATE sessions SET ended = ? WHERE id = ?", (time.time(), self.session))
        finally:
            self._conn.close()

    def __enter__(self) -> "Journal":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def read_bricks(path: Path | str) -> list[BrickRow]:
    """Every brick row of the journal at `path`, oldest first (read-only; safe while a sorter writes)."""
    conn = _open_existing(Path(path))
    try:
        return [_row(r) for r in conn.execute(f"SELECT {_COLUMNS} FROM bricks ORDER BY id")]
    finally:
        conn.close()


def _open_existing(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise JournalError(f"journal {path} does not exist")
    conn = _connect(path, read_only=True)
    try:
        conn.execute("SELECT 1 FROM bricks LIMIT 1")
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise JournalError(f"{path} is not a bricksort journal: {exc}") from None
    return conn


def summarise(path: Path | str) -> JournalSummary:
    """Counts per outcome and bin, throughput and (when ground truth is known) accuracy."""
    conn = _open_existing(Path(path))
    try:
        rows = [_row(r) for r in conn.execute(f"SELECT {_COLUMNS} FROM bricks ORDER BY id")]
        sessions, recovered = conn.execute("SELECT COUNT(*), COALESCE(SUM(recovered), 0) FROM sessions").fetchone()
        spans = conn.execute(
            "SELECT MIN(started), MAX(finished) FROM bricks WHERE finished IS NOT NULL GROUP BY session"
        ).fetchall()
    finally:
        conn.close()
    outcomes = {o: 0 for o in FINAL_OUTCOMES + (IN_FLIGHT,)}
    per_bin: dict[int, int] = {}
    per_decision: dict[str, int] = {}
    for row in rows:
        outcomes[row.outcome] += 1
        if row.outcome in (SORTED, REJECTED) and row.bin is not None:
            per_bin[row.bin] = per_bin.get(row.bin, 0) + 1
        if row.outcome == SORTED and row.decision is not None:
            per_decision[row.decision] = per_decision.get(row.decision, 0) + 1
    minutes = sum(max(0.0, end - start) for start, end in spans) / 60.0
    done = outcomes[SORTED] + outcomes[REJECTED]
    judged = [r for r in rows if r.outcome == SORTED and r.truth is not None]
    return JournalSummary(
        bricks=len(rows),
        outcomes=outcomes,
        per_bin=dict(sorted(per_bin.items())),
        active_minutes=minutes,
        bricks_per_minute=done / minutes if minutes > 0 else 0.0,
        with_truth=len(judged),
        correct=sum(1 for r in judged if r.decision == r.truth),
        sessions=int(sessions),
        recovered=int(recovered),
        saved_images=sum(len(r.images) for r in rows),
        per_decision=dict(sorted(per_decision.items())),
    )


def format_summary(summary: JournalSummary, path: Path | str) -> str:
    """Human-readable summary for `bricksort journal`."""
    o = summary.outcomes
    lines = [
        f"journal {path}: {summary.bricks} bricks in {summary.sessions} session(s)",
        f"  sorted {o[SORTED]}, rejected {o[REJECTED]}, unresolved {o[UNRESOLVED]}, jammed {o[JAMMED]}"
        + (f", in flight {o[IN_FLIGHT]}" if o[IN_FLIGHT] else ""),
        f"  throughput {summary.bricks_per_minute:.1f} bricks/min over {summary.active_minutes:.2f} active minutes",
    ]
    if summary.per_bin:
        lines.append("  per bin: " + ", ".join(f"{b}: {n}" for b, n in summary.per_bin.items()))
    if summary.per_decision:
        lines.append("  per part: " + ", ".join(f"{p}: {n}" for p, n in summary.per_decision.items()))
    if summary.with_truth:
        lines.append(
            f"  ground truth known for {summary.with_truth} sorted bricks: {summary.correct} correct "
            f"({100.0 * summary.correct / summary.with_truth:.1f}%)"
        )
    if summary.recovered:
        lines.append(f"  {summary.recovered} brick(s) were in flight when a sorter stopped (marked unresolved)")
    if summary.saved_images:
        lines.append(f"  {summary.saved_images} image(s) saved for labelling")
    return "\n".join(lines)
