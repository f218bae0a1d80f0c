"""Framing and reply parsing match what Marlin 2.1 sends and expects."""
import pytest

from firmware_bridge import protocol
from firmware_bridge.errors import CommandError


def test_frames_lines_with_marlins_xor_checksum():
    # OctoPrint's well-known handshake line.
    assert protocol.frame_line(0, "M110 N0") == b"N0 M110 N0*125\n"
    framed = protocol.frame_line(12, "G1 X10")
    body, checksum = framed.rstrip(b"\n").split(b"*")
    assert int(checksum) == protocol.checksum(body)


def test_rejects_commands_that_cannot_be_one_line():
    with pytest.raises(CommandError, match="empty"):
        protocol.validate_command("   ; only a comment")
    with pytest.raises(CommandError, match="one ASCII line"):
        protocol.validate_command("G1 X1\nG1 X2")
    assert protocol.validate_command("  G1 X1 ; go ") == "G1 X1"


def test_parses_ok_with_and_without_advanced_ok_fields():
    assert protocol.parse_reply("ok") == protocol.Ok()
    assert protocol.parse_reply("ok N42 P15 B3") == protocol.Ok(42, 15, 3)
    # Marlin never prints a leading zero: such a number was damaged in transit.
    assert protocol.parse_reply("ok N042 P15 B3") == protocol.Ok(None, 15, 3)


def test_parses_resend_requests_in_both_spellings():
    assert protocol.parse_reply("Resend: 7") == protocol.Resend(7)
    assert protocol.parse_reply("rs N7") == protocol.Resend(7)
    assert isinstance(protocol.parse_reply("Resend: 07"), protocol.Unrecognised)


@pytest.mark.parametrize(
    "line, kind, last",
    [
        ("Error:checksum mismatch, Last Line: 9", protocol.ErrorKind.CHECKSUM_MISMATCH, 9),
        ("Error:Line Number is not Last Line Number+1, Last Line: 9", protocol.ErrorKind.LINE_NUMBER, 9),
        ("Error:No Checksum with line number, Last Line: 9", protocol.ErrorKind.NO_CHECKSUM, 9),
        ("Error:Printer halted. kill() called!", protocol.ErrorKind.HALTED, None),
        ("Error:Something else", protocol.ErrorKind.OTHER, None),
    ],
)
def test_classifies_marlin_error_strings(line, kind, last):
    event = protocol.parse_reply(line)
    assert isinstance(event, protocol.FirmwareErrorLine)
    assert (event.kind, event.last_line) == (kind, last)


def test_parses_keepalives_banner_unknown_commands_and_positions():
    assert protocol.parse_reply("echo:busy: processing") == protocol.Busy("processing")
    assert protocol.parse_reply("start") == protocol.Start()
    assert protocol.parse_reply('echo:Unknown command: "M9999"') == protocol.UnknownCommand("M9999")
    report = protocol.parse_reply("X:10.50 Y:-3.00 Z:0.00 E:0.00 Count X:840 Y:-240 Z:0")
    assert report == protocol.PositionReport({"X": 10.5, "Y": -3.0, "Z": 0.0, "E": 0.0}, {"X": 840, "Y": -240, "Z": 0})
    assert protocol.parse_reply("echo:Marlin 2.1.2.1") == protocol.Echo("Marlin 2.1.2.1")


def test_gcode_numbers_are_fixed_point_without_trailing_zeros_or_exponents():
    assert [protocol.gcode_number(v) for v in (90, 12.5, -0.25, 1e-5, -1e-5, 1e6, 0.00005, 123.45678)] == [
        "90", "12.5", "-0.25", "0", "0", "1000000", "0.0001", "123.4568"
    ]


def test_a_gcode_number_that_is_not_finite_is_refused():
    for value in (float("nan"), float("inf"), float("-inf")):
        with pytest.raises(CommandError, match="must be finite"):
            protocol.gcode_number(value)
