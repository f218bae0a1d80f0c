"""`InBackground` (trainer.train.background): work runs beside the caller, and its value or
its error comes back when asked for."""
from __future__ import annotations

import threading

import pytest

from trainer.train.background import InBackground


def test_the_work_runs_beside_the_caller_and_its_value_comes_back():
    caller_went_on = threading.Event()

    def work() -> str:
        # Run in the constructor instead, this would wait in vain: the caller sets it after.
        assert caller_went_on.wait(timeout=10)
        return threading.current_thread().name

    job = InBackground(work, "test work")
    caller_went_on.set()
    assert job.result() == "test work"
    assert job.result() == "test work"  # asked again: the same value, no second run


def test_an_error_in_the_work_is_raised_to_whoever_asks_for_the_result():
    def work() -> None:
        raise ValueError("bad crop")

    job = InBackground(work, "failing work")
    with pytest.raises(ValueError, match="bad crop"):
        job.result()


def test_the_thread_does_not_keep_an_interrupted_program_alive():
    release = threading.Event()
    job = InBackground(lambda: release.wait(timeout=10), "long work")
    assert job._thread.daemon
    release.set()
    assert job.result() is True
