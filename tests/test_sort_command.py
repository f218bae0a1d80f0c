"""`bricksort sort` refuses bad set-ups with one clear line (exit 2) before anything moves."""
from pathlib import Path

import pytest

from bricksort.cli import main

ROOT = Path(__file__).resolve().parents[1]
RIG = ROOT / "firmware_bridge" / "examples" / "rig.toml"
BINS = ROOT / "device" / "examples" / "bins.toml"


def sort(*extra: str) -> list[str]:
    return ["sort", "--bundle", "no-bundle", "--rig", str(RIG), "--bins", str(BINS), *extra]


@pytest.mark.parametrize(
    "argv, message",
    [
        (sort(), "--camera is required (or --simulate"),
        (sort("--camera", "sim"), "camera 'sim' shows the digital twin: add --simulate"),
        (sort("--simulate", "--time-scale", "-1"), "--time-scale must be >= 0"),
        (sort("--camera", "opencv:0", "--views", "0"), "--views (views must be between 1 and 36"),
        (sort("--camera", "opencv:0"), "model bundle folder no-bundle does not exist"),
        (sort("--simulate", "--keep-below", "2"), "--keep-below (keep_below must be in [0, 1], got 2"),
        (sort("--simulate", "--max-bricks", "0"), "--max-bricks (max_bricks must be >= 1"),
        (sort("--simulate", "--idle-timeout", "0"), "--idle-timeout (idle_timeout_s must be > 0"),
    ],
)
def test_bad_sort_setups_are_refused_with_a_clear_message(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not list(tmp_path.iterdir())  # nothing was started: no journal, no world log


def test_bins_file_that_does_not_fit_the_rig_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    bins = tmp_path / "bins.toml"
    bins.write_text('reject_bin = 9\n[[bin]]\nindex = 1\nparts = ["3001"]\n')
    argv = ["sort", "--bundle", "b", "--rig", str(RIG), "--bins", str(bins), "--camera", "opencv:0"]
    assert main(argv) == 2
    assert "bin index 9 does not exist: the rig's chute has 8 positions" in capsys.readouterr().err
