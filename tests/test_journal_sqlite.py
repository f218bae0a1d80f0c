"""The journal: WAL mode, a row per brick, in-flight rows recovered as unresolved, a summary."""
import sqlite3
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from device.sort.journal import (
    IN_FLIGHT,
    REJECTED,
    SORTED,
    UNRESOLVED,
    Journal,
    JournalError,
    format_summary,
    read_bricks,
    summarise,
)
from device.sort.review import ReviewPolicy, save_views


def test_journal_uses_wal_mode(tmp_path):
    path = tmp_path / "j.sqlite"
    Journal.open(path).close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_brick_is_in_flight_until_finished_then_keeps_what_was_decided(tmp_path):
    path = tmp_path / "j.sqlite"
    with Journal.open(path) as journal:
        brick = journal.begin_brick(truth="3001", truth_ref="feed-1")
        assert read_bricks(path)[0].outcome == IN_FLIGHT  # committed before the rig moves
        journal.record_decision(brick, [[("3001", 0.9)], [("3001", 0.8)]], "3001", 0.86, 1)
        assert read_bricks(path)[0].outcome == IN_FLIGHT
        journal.finish_brick(brick, SORTED)
    (row,) = read_bricks(path)
    assert (row.outcome, row.decision, row.bin, row.truth, row.truth_ref) == (SORTED, "3001", 1, "3001", "feed-1")
    assert row.views == [[["3001", 0.9]], [["3001", 0.8]]]
    assert row.finished >= row.started


def test_a_finished_brick_cannot_be_finished_again(tmp_path):
    with Journal.open(tmp_path / "j.sqlite") as journal:
        brick = journal.begin_brick()
        journal.finish_brick(brick, REJECTED)
        with pytest.raises(ValueError, match="not in flight"):
            journal.finish_brick(brick, SORTED)
        with pytest.raises(ValueError, match="outcome must be one of"):
            journal.finish_brick(journal.begin_brick(), "lost")


def test_a_process_killed_mid_brick_leaves_a_row_the_next_start_marks_unresolved(tmp_path):
    path = tmp_path / "j.sqlite"
    script = textwrap.dedent(
        f"""
        import os, signal
        from device.sort.journal import Journal
        journal = Journal.open({str(path)!r})
        done = journal.begin_brick()
        journal.finish_brick(done, "sorted")
        brick = journal.begin_brick(truth="3003")
        journal.record_decision(brick, [], "3003", 0.99, 2)
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert result.returncode == -9
    assert [r.outcome for r in read_bricks(path)] == [SORTED, IN_FLIGHT]

    journal = Journal.open(path)
    journal.close()
    rows = read_bricks(path)
    assert [r.outcome for r in rows] == [SORTED, UNRESOLVED]
    assert journal.recovered == [rows[1].id]
    assert rows[1].decision == "3003" and rows[1].bin == 2  # what was decided is kept, not promoted to sorted
    assert "in flight when the sorter stopped" in rows[1].note
    summary = summarise(path)
    assert summary.sessions == 2 and summary.recovered == 1
    assert summary.outcomes[UNRESOLVED] == 1 and summary.outcomes[SORTED] == 1


def test_summary_counts_bins_rejects_accuracy_and_throughput(tmp_path):
    path = tmp_path / "j.sqlite"
    with Journal.open(path) as journal:
        for truth, decision, bin_index, outcome in [
            ("3001", "3001", 1, SORTED),
            ("3001", "3001", 1, SORTED),
            ("3003", "3001", 1, SORTED),
            ("3003", None, 0, REJECTED),
            ("3004", "3004", 2, UNRESOLVED),
        ]:
            brick = journal.begin_brick(truth=truth)
            journal.record_decision(brick, [], decision, 0.5, bin_index)
            journal.finish_brick(brick, outcome)
    summary = summarise(path)
    assert summary.bricks == 5
    assert summary.per_bin == {0: 1, 1: 3}  # the unresolved brick is in no bin as far as the journal knows
    assert summary.outcomes[REJECTED] == 1 and summary.outcomes[UNRESOLVED] == 1
    assert (summary.with_truth, summary.correct) == (3, 2)
    assert summary.bricks_per_minute > 0
    text = format_summary(summary, path)
    assert "sorted 3, rejected 1, unresolved 1, jammed 0" in text
    assert "per bin: 0: 1, 1: 3" in text and "2 correct (66.7%)" in text


def test_missing_or_foreign_files_are_refused_clearly(tmp_path):
    with pytest.raises(JournalError, match="does not exist"):
        summarise(tmp_path / "none.sqlite")
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(JournalError, match="junk.sqlite"):
        Journal.open(junk)
    with pytest.raises(JournalError, match="junk.sqlite"):
        summarise(junk)
    assert junk.read_bytes() == b"this is not sqlite" * 100  # nothing overwritten
    with pytest.raises(JournalError, match="folder .* does not exist"):
        Journal.open(tmp_path / "no" / "such" / "j.sqlite")


def test_views_of_unsure_bricks_are_saved_as_jpegs_a_trainer_can_read(tmp_path):
    import cv2

    policy = ReviewPolicy(folder=tmp_path / "review", keep_below=0.8)
    assert policy.wants(rejected=True, confidence=0.99)
    assert policy.wants(rejected=False, confidence=0.5)
    assert not policy.wants(rejected=False, confidence=0.95)
    red = np.zeros((40, 60, 3), np.uint8)
    red[..., 0] = 220
    paths = save_views(policy.folder, 7, [red, red])
    assert [p.rsplit("/", 2)[-2:] for p in paths] == [["brick-000007", "view-0.jpg"], ["brick-000007", "view-1.jpg"]]
    back = cv2.imread(paths[0])  # BGR
    assert back.shape == (40, 60, 3) and back[..., 2].mean() > 200 and back[..., 0].mean() < 30


def test_bricksort_journal_prints_the_summary_and_refuses_a_missing_file(tmp_path, capsys):
    from bricksort.cli import main

    path = tmp_path / "j.sqlite"
    with Journal.open(path) as journal:
        brick = journal.begin_brick()
        journal.record_decision(brick, [], "3001", 0.97, 1)
        journal.finish_brick(brick, SORTED)
    assert main(["journal", str(path)]) == 0
    out = capsys.readouterr().out
    assert "1 bricks in 1 session(s)" in out and "per bin: 1: 1" in out and "bricks/min" in out
    assert main(["journal", str(tmp_path / "missing.sqlite")]) == 2
    assert "missing.sqlite does not exist" in capsys.readouterr().err
