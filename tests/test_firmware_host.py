"""MarlinHost against the virtual Marlin over a real pty: noise, keep-alives, lost ports."""
import random
import threading
import time

import pytest

from firmware_bridge.errors import (
    FirmwareHaltedError,
    FirmwareResetError,
    FirmwareTimeoutError,
    PortVanishedError,
    UnknownCommandError,
)
from firmware_bridge.host import HostConfig, MarlinHost
from firmware_bridge.virtual_marlin import FaultConfig, FirmwareSettings, VirtualMarlin

# Short timeouts: the virtual board answers in microseconds, and a timeout only ever
# costs a safe rewrite of the outstanding line.
FAST = dict(response_timeout_s=0.01, long_command_timeout_s=0.01, settle_s=0.003, silent_retries=20, banner_wait_s=1.0)


def random_relative_moves(count, seed):
    rng = random.Random(seed)
    moves = []
    for _ in range(count):
        quarter_mm = rng.choice([n for n in range(-40, 41) if n])  # multiples of 0.25: exact in binary
        moves.append(f"G1 {rng.choice('XYZ')}{quarter_mm / 4:g}")
    return moves


def test_thousand_moves_through_five_percent_corruption_both_ways_arrive_exactly_once():
    moves = random_relative_moves(1000, seed=7)
    noise = FaultConfig(corrupt_to_host=0.05, corrupt_to_firmware=0.05, seed=7)
    with VirtualMarlin(time_scale=0, faults=noise) as board:
        with MarlinHost(HostConfig(board.path, **FAST)) as host:
            host.send("G91")
            for move in moves:
                host.send(move)
            host.send("M400")
            assert host.stats.resend_requests > 100 and host.stats.timeouts > 10  # the noise really bit
            board.set_faults(None)
            host.send("M400")  # a clean barrier: nothing is still in flight when we look
            report = host.send("M114").position_report()

        executed = [move.command for move in board.executed_moves]
        assert executed == moves  # none lost, none doubled, none altered, in order
        expected = {axis: sum(float(m[4:]) for m in moves if m[3] == axis) for axis in "XYZ"}
        assert {axis: board.positions[axis] for axis in "XYZ"} == expected
        assert report.positions["X"] == pytest.approx(expected["X"], abs=0.005)


def test_ten_second_move_survives_on_keepalives_alone():
    # 10 simulated s at time_scale 0.05 = 0.5 s wall; keep-alives every 2 simulated s = 0.1 s wall.
    with VirtualMarlin(time_scale=0.05) as board:
        config = HostConfig(board.path, response_timeout_s=0.25, long_command_timeout_s=0.25, banner_wait_s=1.0)
        with MarlinHost(config) as host:
            host.send("M203 X10")
            host.send("G1 X100 F600")  # 100 mm at 10 mm/s: 10 s plus ramps
            started = time.monotonic()
            host.send("M400")
            waited = time.monotonic() - started
        # Well past the timeout, so the keep-alives carried it (not 2x: the move, ~0.5 s wall,
        # starts when G1 is queued, and under load part of it has run before M400 goes out).
        assert waited > 1.5 * config.long_command_timeout_s
        assert host.stats.keepalives >= 3
        assert board.executed_moves[-1].duration_s >= 10.0


def test_same_move_without_keepalives_times_out_with_a_clear_error():
    silent = FirmwareSettings(busy_interval_s=None)
    with VirtualMarlin(time_scale=0.05, settings=silent) as board:
        config = HostConfig(board.path, response_timeout_s=0.1, long_command_timeout_s=0.1, banner_wait_s=1.0)
        with MarlinHost(config) as host:
            host.send("M203 X10")
            host.send("G1 X100 F600")
            with pytest.raises(FirmwareTimeoutError, match="stopped answering.*M400"):
                host.send("M400")


def test_vanishing_port_raises_within_the_timeout_and_reconnect_works(tmp_path):
    link = tmp_path / "bricksort-ramps"
    board = VirtualMarlin(time_scale=0.001, link_path=link)
    board.start()
    try:
        config = HostConfig(str(link), response_timeout_s=0.5, banner_wait_s=1.0)
        host = MarlinHost(config)
        host.connect()
        host.send("G91")
        vanished_at = []

        def pull_the_plug():
            time.sleep(0.05)
            vanished_at.append(time.monotonic())
            board.vanish()

        unplugger = threading.Thread(target=pull_the_plug)
        unplugger.start()
        with pytest.raises(PortVanishedError, match="bricksort-ramps vanished") as caught:
            for _ in range(100_000):
                host.send("G1 X0.25 F6000")
        assert time.monotonic() - vanished_at[0] < config.response_timeout_s
        assert isinstance(caught.value, OSError)
        unplugger.join()

        board.start()  # plugged back in: same stable name, fresh board
        host.reconnect()
        host.send("G91")
        host.send("G1 X1 F6000")
        host.send("M400")
        assert board.positions["X"] == 1.0  # the reset zeroed the position; the new move landed
    finally:
        host.close()
        board.stop()


def test_unknown_command_and_emergency_stop_and_unexpected_reset():
    with VirtualMarlin(time_scale=0) as board:
        with MarlinHost(HostConfig(board.path, banner_wait_s=1.0)) as host:
            with pytest.raises(UnknownCommandError, match="M9999"):
                host.send("M9999")
            host.send("M17")  # the link is still in step after the error

            board.reset()
            with pytest.raises(FirmwareResetError, match="reset unexpectedly"):
                host.send("M114")
            host.reconnect()
            host.send("G1 X5")
            host.send("M400")  # an ok only queues a move; M112 drops what has not run yet

            host.emergency_stop()
            with pytest.raises(FirmwareHaltedError, match="halted"):
                host.send("G1 X10")
            deadline = time.monotonic() + 2.0
            while not board.halted and time.monotonic() < deadline:
                time.sleep(0.01)
            assert board.halted
            assert [move.command for move in board.executed_moves] == ["G1 X5"]


def test_plain_ok_firmware_with_checksum_errors_still_gets_every_line_once():
    moves = random_relative_moves(200, seed=3)
    plain = FirmwareSettings(advanced_ok=False)
    noise = FaultConfig(corrupt_to_firmware=0.05, seed=3)  # replies clean: bare oks can be trusted
    with VirtualMarlin(time_scale=0, faults=noise, settings=plain) as board:
        with MarlinHost(HostConfig(board.path, **FAST)) as host:
            host.send("G91")
            for move in moves:
                host.send(move)
            host.send("M400")
            assert not host.advanced_ok
            assert host.stats.resend_requests > 10
        assert [move.command for move in board.executed_moves] == moves
