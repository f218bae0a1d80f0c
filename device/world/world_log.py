"""The world's own append-only log: what the feeder fed and where each brick landed.

One JSON object per line, flushed as it happens, so a simulation killed with SIGKILL can be
rebuilt by the next process (`replay`) and checked against the sort journal: the world is
the ground truth the journal is judged by.

    {"event": "fed", "seq": 3, "part": "3001", "time": ...}
    {"event": "binned", "seq": 3, "bin": 2, "time": ...}      bin null: fell between bins
    {"event": "jammed", "seq": 3, "time": ...}                a push that did not move it
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class WorldState:
    """What the log says happened: bricks fed, where each went, what is on the table."""

    fed: dict[int, str] = field(default_factory=dict)  # seq -> part id
    bins: dict[int, int | None] = field(default_factory=dict)  # seq -> bin (None: the floor)
    jams: int = 0

    @property
    def on_table(self) -> int | None:
        """Seq of the brick fed but not yet pushed off, if any."""
        waiting = [seq for seq in self.fed if seq not in self.bins]
        return waiting[0] if waiting else None

    @property
    def next_seq(self) -> int:
        """Seq the feeder gives the next brick."""
        return max(self.fed, default=-1) + 1

    def contents(self) -> dict[int | None, list[int]]:
        """Bin -> seqs of the bricks in it, in arrival order."""
        result: dict[int | None, list[int]] = {}
        for seq, bin_index in self.bins.items():
            result.setdefault(bin_index, []).append(seq)
        return result


class WorldLogError(ValueError):
    """The world log contradicts itself (a brick binned that was never fed, fed twice...)."""


def replay(path: Path) -> WorldState:
    """Rebuild the world's state from its log; a torn last line (killed mid-write) is ignored."""
    state = WorldState()
    if not path.is_file():
        return state
    try:
        lines = path.read_text(encoding="ascii").splitlines()  # the log writes JSON with ASCII escapes only
    except UnicodeDecodeError:
        raise WorldLogError(f"{path} is not a world log (those are ASCII JSON lines); give --sim-log a new file or a log a twin wrote") from None
    for number, line in enumerate(lines, 1):
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            if number == len(lines):
                break
            raise WorldLogError(f"{path}:{number}: not a JSON line") from None
        if not isinstance(event, dict):
            raise WorldLogError(f"{path}:{number}: not a JSON object")
        _apply(state, event, f"{path}:{number}")
    return state


def _apply(state: WorldState, event: dict[str, Any], where: str) -> None:
    kind, seq = event.get("event"), event.get("seq")
    if kind == "fed":
        if seq in state.fed:
            raise WorldLogError(f"{where}: brick {seq} fed twice")
        state.fed[seq] = event["part"]
    elif kind == "binned":
        if seq not in state.fed or seq in state.bins:
            raise WorldLogError(f"{where}: brick {seq} binned but it is not on the table")
        state.bins[seq] = event["bin"]
    elif kind == "jammed":
        state.jams += 1
    else:
        raise WorldLogError(f"{where}: unknown event {kind!r}")


class WorldLog:
    """Appends events to the log file (and applies them to the in-memory state)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.state = replay(path) if path is not None else WorldState()
        self._created = path is not None and not path.exists()
        self._file = open(path, "a", encoding="ascii") if path is not None else None

    def record(self, event: str, seq: int, **fields: Any) -> None:
        """Append one event; it is in the OS's hands (survives SIGKILL) when this returns."""
        entry = {"event": event, "seq": seq, **fields, "time": time.time()}
        _apply(self.state, entry, "world event")
        if self._file is not None:
            self._file.write(json.dumps(entry) + "\n")
            self._file.flush()

    def close(self) -> None:
        """Close the file (fsynced: the log is the ground truth of a run). A log this object made
        and never wrote to is removed: a session that failed before feeding leaves nothing behind."""
        if self._file is not None:
            empty = self._file.tell() == 0
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None
            if self._created and empty:
                self.path.unlink(missing_ok=True)
