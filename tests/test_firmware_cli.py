"""`bricksort virtual-marlin` and `bricksort rig` as a user runs them."""
import subprocess
import sys

from bricksort.cli import main
from firmware_bridge.host import HostConfig, MarlinHost
from firmware_bridge.virtual_marlin import VirtualMarlin


def test_rig_stream_sends_every_line_and_prints_a_summary(tmp_path, capsys):
    gcode = tmp_path / "square.gcode"
    gcode.write_text("; a square\nG91\nG1 X10 F3000\nG1 Y10\n\nG1 X-10 ; back\nG1 Y-10\nM400\n")
    with VirtualMarlin(time_scale=0) as board:
        assert main(["rig", "--port", board.path, "stream", str(gcode)]) == 0
        assert [move.command for move in board.executed_moves] == ["G1 X10 F3000", "G1 Y10", "G1 X-10", "G1 Y-10"]
    assert "sent 6 lines" in capsys.readouterr().out


def test_rig_jog_and_position(capsys):
    with VirtualMarlin(time_scale=0) as board:
        assert main(["rig", "--port", board.path, "jog", "Y", "2.5"]) == 0
        assert "Y:2.50" in capsys.readouterr().out


def test_a_tiny_or_large_jog_goes_out_in_fixed_point_not_as_an_exponent(capsys):
    # "Y1e-05" would read as a 1 unit move (and an extruder move) on Marlin.
    with VirtualMarlin(time_scale=0) as board:
        assert main(["rig", "--port", board.path, "jog", "Y", "0.00002", "--feedrate", "1000000"]) == 0
        assert main(["rig", "--port", board.path, "jog", "X", "-1234.5"]) == 0
        assert [move.command for move in board.executed_moves] == ["G1 Y0 F1000000", "G1 X-1234.5 F600"]
        assert "Y:0.00" in capsys.readouterr().out


def test_a_jog_that_is_not_finite_or_beyond_any_travel_or_a_feedrate_not_above_0_is_refused(capsys):
    for args, message in (
        (["nan"], "must be a finite number"),
        (["inf"], "must be a finite number"),
        (["1e30"], "beyond any rig's travel"),
        (["5", "--feedrate", "0"], "must be above 0"),
        (["5", "--feedrate", "-5"], "must be above 0"),
    ):
        try:
            main(["rig", "--port", "/dev/ttyNOPE0", "jog", "X", *args])
        except SystemExit as exit:
            assert exit.code == 2
        else:
            raise AssertionError(f"jog {args} was accepted")
        assert message in capsys.readouterr().err


def test_missing_port_and_bad_gcode_exit_2_with_a_message(tmp_path, capsys):
    assert main(["rig", "--port", "/dev/ttyNOPE0", "position"]) == 2
    assert "does not exist; ports present:" in capsys.readouterr().err
    bad = tmp_path / "bad.gcode"
    bad.write_text("G1 X1\nG1 X2*99\n")
    assert main(["rig", "--port", "/dev/ttyNOPE0", "stream", str(bad)]) == 2
    assert "bad.gcode:2:" in capsys.readouterr().err


def test_a_malformed_port_url_is_refused_naming_the_port(capsys):
    assert main(["rig", "--port", "socket://", "position"]) == 2
    err = capsys.readouterr().err
    assert "cannot open serial port 'socket://'" in err and "Traceback" not in err


def test_a_baud_rate_of_0_is_refused_not_replaced_by_the_default(capsys):
    assert main(["rig", "--port", "loop://", "--baud", "0", "position"]) == 2
    assert "host baud must be > 0, got 0" in capsys.readouterr().err


def test_virtual_marlin_command_prints_a_port_a_host_can_use():
    server = subprocess.Popen(
        [sys.executable, "-c", "from bricksort.cli import main; main(['virtual-marlin', '--time-scale', '0'])"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        port = server.stdout.readline().strip()
        with MarlinHost(HostConfig(port, banner_wait_s=2.0)) as host:
            assert host.send("M115").events[0].text.startswith("FIRMWARE_NAME:Marlin")
    finally:
        server.terminate()
        server.wait(timeout=10)
