"""Checking the sort journal brick by brick against the world's ground truth.

Every brick the feeder fed must be accounted for: the journal's last row for it (matched by
the feed seq the twin journals as `truth_ref`) must agree with where the world says it went.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from device.sort.journal import JAMMED, REJECTED, SORTED, UNRESOLVED, BrickRow
from device.world.world_log import WorldState


@dataclass(frozen=True)
class Reconciliation:
    """Fed bricks sorted into categories; `problems` lists every disagreement in words."""

    fed: int
    correct: list[int] = field(default_factory=list)  # sorted into the bin their true part belongs in
    wrong_bin: list[int] = field(default_factory=list)  # sorted into another bin
    rejected: list[int] = field(default_factory=list)  # in the reject bin, journalled rejected
    unresolved: list[int] = field(default_factory=list)  # journal says unknown (the world knows)
    jammed: list[int] = field(default_factory=list)  # still on the table after the last push, alarm raised
    on_table: list[int] = field(default_factory=list)  # fed, not yet handled when the run ended
    unaccounted: list[int] = field(default_factory=list)  # left the table with no journal row saying so
    problems: list[str] = field(default_factory=list)  # journal and world disagree

    @property
    def consistent(self) -> bool:
        """True when no brick is unaccounted for and journal and world agree on every bin."""
        return not self.unaccounted and not self.problems


def reconcile(rows: list[BrickRow], world: WorldState, bin_for_part) -> Reconciliation:
    """Match journal rows to fed bricks; `bin_for_part(part)` is the bins file's mapping (for wrong-bin checks)."""
    last_row: dict[int, BrickRow] = {}
    result = Reconciliation(fed=len(world.fed))
    for row in rows:
        if row.truth_ref is None:
            result.problems.append(f"journal row {row.id} names no fed brick")
            continue
        last_row[int(row.truth_ref)] = row
    for seq, part in world.fed.items():
        row = last_row.get(seq)
        landed = world.bins.get(seq, "table")
        if row is None:
            (result.on_table if landed == "table" else result.unaccounted).append(seq)
            continue
        if row.truth != part:
            result.problems.append(f"brick {seq}: journal truth {row.truth} but the feeder fed {part}")
        if row.outcome == UNRESOLVED:
            result.unresolved.append(seq)
        elif row.outcome == JAMMED:
            result.jammed.append(seq)
            if landed != "table":
                result.problems.append(f"brick {seq}: journalled jammed but it went to bin {landed}")
        elif landed != row.bin:
            result.problems.append(f"brick {seq}: journal says bin {row.bin}, the world has it in {landed}")
        elif row.outcome == REJECTED:
            result.rejected.append(seq)
        elif row.outcome == SORTED:
            (result.correct if landed == bin_for_part(part) else result.wrong_bin).append(seq)
        else:
            result.problems.append(f"brick {seq}: last journal row {row.id} is still {row.outcome}")
    return result


def format_reconciliation(r: Reconciliation) -> str:
    """One paragraph for people."""
    text = (
        f"fed {r.fed}: correct bin {len(r.correct)}, wrong bin {len(r.wrong_bin)}, rejected {len(r.rejected)}, "
        f"unresolved {len(r.unresolved)}, jammed {len(r.jammed)}, still on the table {len(r.on_table)}, "
        f"unaccounted {len(r.unaccounted)}"
    )
    if r.problems:
        text += "\n  journal/world disagreements:\n    " + "\n    ".join(r.problems)
    return text
