"""Stage times: each stage's seconds in the order stages first ran, the rest as `other`, one
entry per invocation in timings.json."""
import itertools
import json

import pytest

from trainer.train.timings import StageTimes


def test_a_stage_run_twice_adds_up_and_the_rest_is_other():
    ticks = itertools.chain([0.0, 1.0, 3.0, 4.0, 4.5, 5.0, 7.5], itertools.repeat(10.0))
    times = StageTimes(clock=lambda: next(ticks))  # starts at 0
    with times.stage("fit"):  # 1 -> 3
        pass
    with times.stage("load"):  # 4 -> 4.5
        pass
    with times.stage("fit"):  # 5 -> 7.5
        pass
    assert times.breakdown() == {"fit": 4.5, "load": 0.5, "other": 5.0}  # total 10
    assert times.summary() == "10.0 s: fit 4.5 s, load 0.5 s, other 5.0 s"


def test_cpu_time_is_kept_per_stage_beside_the_wall_time():
    cpu_ticks = itertools.chain([0.0, 1.0, 2.5, 3.0, 3.2], itertools.repeat(6.0))
    times = StageTimes(clock=itertools.count().__next__, cpu_clock=lambda: next(cpu_ticks))  # starts at 0
    with times.stage("phase 2 fit"):  # CPU 1 -> 2.5: both cores busy part of the time
        pass
    with times.stage("export"):  # 3 -> 3.2
        pass
    assert times.cpu_breakdown() == pytest.approx({"phase 2 fit": 1.5, "export": 0.2, "other": 4.3})  # total 6


def test_a_failing_stage_is_still_timed():
    times = StageTimes()
    with pytest.raises(ValueError):
        with times.stage("broken"):
            raise ValueError("bad input")
    assert "broken" in times.seconds


def test_each_invocation_appends_an_entry(tmp_path):
    for _ in range(2):
        times = StageTimes()
        with times.stage("phase 1 fit"):
            pass
        times.save(tmp_path)
    entries = json.loads((tmp_path / "timings.json").read_text())
    assert len(entries) == 2
    assert list(entries[1]["stages_s"]) == list(entries[1]["stages_cpu_s"]) == ["phase 1 fit", "other"]
    assert entries[1]["cpu_s"] == pytest.approx(sum(entries[1]["stages_cpu_s"].values()), abs=0.02)
