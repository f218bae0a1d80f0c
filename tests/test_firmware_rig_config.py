"""Rig files are validated on load and every error names the field."""
import dataclasses

import pytest

from firmware_bridge.errors import CommandError, RigConfigError
from firmware_bridge.rig_config import example_rig_path, load_rig_config

EXAMPLE = example_rig_path().read_text()


def write_rig(tmp_path, text):
    path = tmp_path / "rig.toml"
    path.write_text(text)
    return path


def test_example_rig_loads_with_realistic_values():
    config = load_rig_config(example_rig_path())
    assert config.baud == 250000
    assert config.turntable.axis == "X" and config.chute.axis == "Y" and config.pusher.axis == "Z"
    assert config.pusher.steps_per_unit == 80.0  # GT2 20T at 1/16 microstepping
    assert config.chute.bin_angle(2) == 2 * config.chute.degrees_per_bin


def test_replace_points_a_rig_at_another_port():
    config = dataclasses.replace(load_rig_config(example_rig_path()), port="/dev/pts/9")
    assert config.port == "/dev/pts/9"


def test_missing_file_is_an_os_error_naming_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"^rig file not found: .*nope\.toml$"):
        load_rig_config(tmp_path / "nope.toml")


@pytest.mark.parametrize(
    "edit, field, message",
    [
        (("steps_per_unit = 80.0", "steps_per_unit = -80.0"), "pusher.steps_per_unit", "greater than 0"),
        (("bins = 8", ""), "chute.bins", "is required"),
        (("stroke_mm = 60.0", "stroke_mm = 60.0\nstrok_mm = 3"), "pusher.strok_mm", "unknown field"),
        (("baud = 250000", "baud = 250000\nbaudrate = 9600"), "serial.baudrate", "unknown field"),
        (('axis = "Y"', 'axis = "Q"'), "chute.axis", "must be one of"),
        (('axis = "Y"', 'axis = "X"'), "axis", "different axes"),
        (("bins = 8", 'bins = "eight"'), "chute.bins", "must be int"),
        (("bins = 8", "bins = 0"), "chute.bins", "at least 1"),
        (('port = "/dev/bricksort-ramps"', 'port = ""'), "serial.port", "must not be empty"),
    ],
)
def test_bad_rig_files_name_the_field(tmp_path, edit, field, message):
    old, new = edit
    assert old in EXAMPLE
    path = write_rig(tmp_path, EXAMPLE.replace(old, new, 1))
    with pytest.raises(RigConfigError, match=message) as caught:
        load_rig_config(path)
    assert caught.value.field == field
    assert str(path) in str(caught.value)


def test_missing_section_and_bad_toml(tmp_path):
    without_pusher = EXAMPLE.split("[pusher]")[0]
    with pytest.raises(RigConfigError, match="pusher: section is missing"):
        load_rig_config(write_rig(tmp_path, without_pusher))
    with pytest.raises(RigConfigError, match=r"rig\.toml: not valid TOML"):
        load_rig_config(write_rig(tmp_path, "[serial\nport="))


def test_bin_outside_the_chute_is_a_clear_error():
    chute = load_rig_config(example_rig_path()).chute
    with pytest.raises(CommandError, match="bin 8 does not exist: this chute has bins 0..7"):
        chute.bin_angle(8)
