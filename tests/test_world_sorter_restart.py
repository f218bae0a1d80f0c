"""`bricksort sort --simulate` as a process: killed with SIGKILL mid-brick and restarted, or stopped with SIGTERM.

The world writes its own append-only log (fed bricks, bins), so the restarted process
rebuilds it, and the journal is judged against it brick by brick."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sort_sim_bundle import PART_COLOURS, make_sim_bundle  # noqa: E402

from device.sort.bins_config import load_bins_config
from device.sort.journal import IN_FLIGHT, REJECTED, SORTED, UNRESOLVED, JournalError, read_bricks, summarise
from device.world.accounting import reconcile
from device.world.world_log import replay

ROOT = Path(__file__).resolve().parents[1]
RIG = ROOT / "firmware_bridge" / "examples" / "rig.toml"
BINS = ROOT / "device" / "examples" / "bins.toml"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return make_sim_bundle(tmp_path_factory.mktemp("bundle") / "sim-bundle").path


def sorter(bundle: Path, journal: Path, bricks: int, time_scale: float) -> list[str]:
    return [
        sys.executable, "-m", "bricksort", "sort", "--bundle", str(bundle), "--rig", str(RIG), "--bins", str(BINS),
        "--simulate", "--time-scale", str(time_scale), "--sim-bricks", str(bricks), "--sim-parts", *PART_COLOURS,
        "--sim-feed-delay", "0", "--journal", str(journal),
    ]


def wait_for_row_in_flight(journal: Path, after_rows: int, process: subprocess.Popen, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read()
        try:
            rows = read_bricks(journal)
        except JournalError:
            rows = []  # not created yet
        if len(rows) > after_rows and rows[-1].outcome == IN_FLIGHT:
            return
        time.sleep(0.005)
    raise AssertionError("the sorter never had a brick in flight")


def test_sorter_killed_mid_brick_and_restarted_accounts_for_every_fed_brick(tmp_path, bundle):
    journal = tmp_path / "journal.sqlite"
    command = sorter(bundle, journal, bricks=10, time_scale=0.05)
    # SIGKILL leaves the twin's temporary folder behind: keep it inside tmp_path.
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path, env=env)
    wait_for_row_in_flight(journal, after_rows=3, process=first)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    first.stdout.close()
    killed_rows = read_bricks(journal)
    assert killed_rows[-1].outcome == IN_FLIGHT  # what SIGKILL left on disk
    world_at_kill = replay(Path(f"{journal}.world.jsonl"))
    assert 0 < len(world_at_kill.fed) < 10

    second = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=120, env=env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "1 brick(s) left in flight by the last run marked unresolved" in second.stdout
    assert "unaccounted 0" in second.stdout and "disagreements" not in second.stdout

    rows = read_bricks(journal)
    assert rows[len(killed_rows) - 1].outcome == UNRESOLVED  # never promoted to sorted
    assert all(r.outcome in (SORTED, REJECTED, UNRESOLVED) for r in rows)
    world = replay(Path(f"{journal}.world.jsonl"))
    assert len(world.fed) == 10 and world.on_table is None  # the feeder went on where it stopped, no brick fed twice
    result = reconcile(rows, world, load_bins_config(BINS).bin_for)
    assert result.consistent, result.problems
    accounted = result.correct + result.wrong_bin + result.rejected + result.unresolved
    assert sorted(accounted) == sorted(world.fed)
    assert summarise(journal).sessions == 2


def test_sigterm_finishes_the_brick_in_hand_then_stops(tmp_path, bundle):
    journal = tmp_path / "journal.sqlite"
    process = subprocess.Popen(
        sorter(bundle, journal, bricks=50, time_scale=0.05), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, cwd=tmp_path,
    )
    wait_for_row_in_flight(journal, after_rows=1, process=process)
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert "SIGTERM: finishing the brick in hand" in output and "stopped: stop requested" in output
    rows = read_bricks(journal)
    assert len(rows) >= 2 and all(r.outcome in (SORTED, REJECTED) for r in rows)  # the one in hand was finished
    world = replay(Path(f"{journal}.world.jsonl"))
    assert all(int(r.truth_ref) in world.bins for r in rows)
