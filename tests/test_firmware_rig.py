"""The rig API in physical units, on the virtual Marlin."""
import dataclasses

import pytest

from firmware_bridge.errors import CommandError, FirmwareHaltedError, PortNotFoundError
from firmware_bridge.ports import list_ports
from firmware_bridge.rig import Rig
from firmware_bridge.rig_config import example_rig_path, load_rig_config
from firmware_bridge.virtual_marlin import VirtualMarlin


@pytest.fixture
def board():
    with VirtualMarlin(time_scale=0) as virtual:
        yield virtual


@pytest.fixture
def rig(board):
    config = dataclasses.replace(load_rig_config(example_rig_path()), port=board.path)
    with Rig(config) as connected:
        yield connected


def test_sort_cycle_moves_each_axis_in_its_own_units(rig, board):
    rig.enable_steppers()
    rig.turn_table(45)
    rig.turn_table(45)  # relative: adds up
    rig.select_bin(3)
    rig.push()
    rig.wait_for_moves()
    assert rig.positions() == {"turntable": 90.0, "chute": 90.0, "pusher": 0.0}
    pusher_moves = [move for move in board.executed_moves if move.end["Z"] != move.start["Z"]]
    assert [move.end["Z"] for move in pusher_moves] == [60.0, 0.0]  # out a full stroke and back
    rig.disable_steppers()
    assert not board.steppers_enabled


def test_connect_applies_steps_per_unit_and_move_time_matches_the_firmware(rig, board):
    rig.turn_table(90)
    rig.select_bin(7)
    rig.wait_for_moves()
    table_move, chute_move = board.executed_moves[-2:]
    assert table_move.duration_s == pytest.approx(rig.move_time("turntable", 90))
    assert chute_move.duration_s == pytest.approx(rig.move_time("chute", 7 * 30.0))
    assert rig.send_gcode("M114").position_report().counts["X"] == round(90 * 35.5556)


def test_homing_only_moves_axes_with_endstops(rig, board):
    rig.turn_table(30)
    rig.select_bin(2)
    rig.home()
    assert rig.positions() == {"turntable": 30.0, "chute": 0.0, "pusher": 0.0}


def test_bad_bin_is_refused_before_anything_is_sent(rig, board):
    with pytest.raises(CommandError, match="bin 9 does not exist"):
        rig.select_bin(9)
    assert board.executed_moves == []


def test_emergency_stop_halts_the_firmware(rig, board):
    rig.emergency_stop()
    with pytest.raises(FirmwareHaltedError):
        rig.turn_table(10)


def test_missing_port_lists_the_ports_that_exist():
    config = dataclasses.replace(load_rig_config(example_rig_path()), port="/dev/ttyNOPE0")
    with pytest.raises(PortNotFoundError) as caught:
        Rig(config).connect()
    message = str(caught.value)
    assert "'/dev/ttyNOPE0' does not exist; ports present:" in message
    assert all(port in message for port in list_ports())
    assert isinstance(caught.value, OSError)
