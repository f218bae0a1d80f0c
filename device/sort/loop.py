"""The sort loop: wait for a brick, take K views, classify, fuse, pick a bin (an unsure brick
gets a second look of K more views first), eject, journal, next.

Each step is a small part with its own module (`eyes`, `views`, `recognise`, `eject`,
`journal`, `status`); `SortLoop` only sequences them and owns the failure policy:

- the brick's journal row is committed as in flight before the rig moves it;
- a lost serial link (any firmware_bridge BridgeError) marks that brick unresolved, then the
  rig is reconnected (which re-initialises it) before sorting resumes;
- a brick still on the table after the push and one retry is journalled as jammed, the
  alarm is raised and the loop stops;
- a stop request (Ctrl-C, SIGTERM) is honoured between bricks: the brick in hand is
  finished first. The steppers are disabled whenever the loop ends.
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Protocol

import numpy as np

from device.cameras.errors import EndOfStream
from device.sort.bins_config import BinsConfig
from device.sort.eject import TableNotClearError, eject
from device.sort.eyes import Eyes
from device.sort.journal import JAMMED, REJECTED, SORTED, UNRESOLVED, Journal
from device.sort.recognise import Recogniser, Recognition
from device.sort.review import ReviewPolicy, save_views
from device.sort.status import StatusLine
from device.sort.views import take_views
from firmware_bridge.errors import BridgeError

# (part id, reference) of the brick on the table when something outside the loop knows it
# (the simulated world); journalled beside the decision, never used to make it.
TruthSource = Callable[[], "tuple[str, str] | None"]


class SortRig(Protocol):
    """What the loop needs of the rig (`firmware_bridge.rig.Rig` provides it)."""

    def connect(self) -> None: ...

    def close(self) -> None: ...

    def turn_table(self, degrees: float) -> None: ...

    def select_bin(self, index: int) -> None: ...

    def push(self) -> None: ...

    def wait_for_moves(self) -> None: ...

    def home(self) -> None: ...

    def enable_steppers(self) -> None: ...

    def disable_steppers(self) -> None: ...


class RigLostError(OSError):
    """The serial link was lost and could not be re-established."""


@dataclass(frozen=True)
class LoopSettings:
    """How the loop runs."""

    views: int = 3
    # An unsure brick gets K more views half-way between the first ones before it is rejected:
    # on simulated bricks that sorted 2.5 points more of them (14% took the second look).
    second_look: bool = True
    max_bricks: int | None = None  # stop after this many bricks (any outcome)
    push_retries: int = 1
    idle_timeout_s: float | None = None  # stop when no brick arrives for this long
    reconnect_attempts: int = 20
    reconnect_delay_s: float = 0.5

    def __post_init__(self) -> None:
        if not 1 <= self.views <= 36:
            raise ValueError(f"views must be between 1 and 36, got {self.views}")
        if self.max_bricks is not None and self.max_bricks < 1:
            raise ValueError(f"max_bricks must be >= 1 (or unset: no limit), got {self.max_bricks}")
        if self.push_retries < 0:
            raise ValueError(f"push_retries must be >= 0, got {self.push_retries}")
        if self.idle_timeout_s is not None and self.idle_timeout_s <= 0:
            raise ValueError(f"idle_timeout_s must be > 0, got {self.idle_timeout_s}")
        if self.reconnect_attempts < 1 or self.reconnect_delay_s < 0:
            raise ValueError("reconnect_attempts must be >= 1 and reconnect_delay_s >= 0")


@dataclass(frozen=True)
class LoopResult:
    """How a run ended."""

    outcomes: dict[str, int]
    reason: str  # why the loop stopped
    reconnects: int

    @property
    def bricks(self) -> int:
        """Bricks journalled by this run."""
        return sum(self.outcomes.values())


class SortLoop:
    """Sequences the parts; see the module docstring for the failure policy."""

    def __init__(
        self,
        rig: SortRig,
        eyes: Eyes,
        recogniser: Recogniser,
        bins: BinsConfig,
        journal: Journal,
        settings: LoopSettings = LoopSettings(),
        *,
        review: ReviewPolicy | None = None,
        truth: TruthSource | None = None,
        status: StatusLine | None = None,
        should_stop: Callable[[], bool] = lambda: False,
        say: Callable[[str], None] = print,
    ) -> None:
        self.rig = rig
        self.eyes = eyes
        self.recogniser = recogniser
        self.bins = bins
        self.journal = journal
        self.settings = settings
        self.review = review
        self.truth = truth
        self.status = status
        self.should_stop = should_stop
        self.say = say
        self.outcomes: Counter[str] = Counter()
        self.reconnects = 0

    def run(self) -> LoopResult:
        """Sort bricks until told to stop, out of bricks, at `max_bricks`, or jammed; steppers off at the end."""
        reason = "stop requested"
        try:
            self.eyes.learn_background(self.say)
            self._prepare_rig()
            while not self.should_stop():
                if self.settings.max_bricks is not None and self.outcomes.total() >= self.settings.max_bricks:
                    reason = f"sorted the {self.settings.max_bricks} bricks asked for"
                    break
                try:
                    if self.eyes.wait_for_brick(self.should_stop, self.settings.idle_timeout_s) is None:
                        if not self.should_stop():
                            reason = f"no brick arrived for {self.settings.idle_timeout_s:g} s"
                        break
                    self.sort_one()
                except BridgeError as exc:
                    self._reconnect(exc)
                except TableNotClearError as exc:
                    self.say(f"\aALARM: {exc}")
                    reason = "jammed"
                    break
                except EndOfStream as exc:  # a recording (folder, video file) replayed to its end
                    reason = f"the camera's recording ended ({exc})"
                    break
        finally:
            self._park()
            if self.status is not None:
                self.status.finish()
        return LoopResult(outcomes=dict(self.outcomes), reason=reason, reconnects=self.reconnects)

    def sort_one(self) -> str:
        """Sort the brick on the table; returns its outcome. Re-raises link loss and jams after journalling them."""
        known = self.truth() if self.truth is not None else None
        brick = self.journal.begin_brick(truth=known[0] if known else None, truth_ref=known[1] if known else None)
        images: list[str] = []
        try:
            frames = take_views(self.rig, self.eyes, self.settings.views)
            recognition, bin_index = self._decide(frames)
            if self.settings.second_look and bin_index == self.bins.reject_bin:
                more = take_views(self.rig, self.eyes, self.settings.views, first_turn=180.0 / self.settings.views)
                recognition, bin_index = self._decide(more, earlier=recognition)
                frames += more
            decision = recognition.decision
            labels = self.recogniser.labels
            rejected = bin_index == self.bins.reject_bin
            self.journal.record_decision(brick, recognition.view_scores, labels[decision.index], decision.confidence, bin_index)
            # Part-level confidence: an unsure part is worth labelling even when its bin was sure.
            if self.review is not None and self.review.wants(rejected, decision.confidence):
                images = save_views(self.review.folder, brick, frames)
            eject(self.rig, self.eyes, bin_index, self.settings.push_retries)
        except TableNotClearError as exc:
            self._finish(brick, JAMMED, None, images, str(exc))
            raise
        except BaseException as exc:
            # Link lost, a crash in a part, a second Ctrl-C: whatever happened to the brick is unknown.
            self._finish(brick, UNRESOLVED, None, images, f"{type(exc).__name__}: {exc}")
            raise
        outcome = REJECTED if bin_index == self.bins.reject_bin else SORTED
        unseen = recognition.unseen_colour
        note = f"colour check: no training photo shows {labels[decision.index]} in {unseen}" if unseen else None
        self._finish(brick, outcome, bin_index, images, note)
        return outcome

    def _decide(self, frames: list[np.ndarray], earlier: Recognition | None = None) -> tuple[Recognition, int]:
        """Classify and fuse `frames` (with the `earlier` views of the brick); the bin they send
        the brick to (the reject bin when unsure)."""
        recognition = self.recogniser.recognise(frames, earlier)
        bin_index, _ = self.bins.choose_bin(recognition.decision.fused, self.recogniser.labels, self.recogniser.reject_threshold)
        # A part never photographed in the brick's colour: the model guessed outside what it learnt.
        return recognition, self.bins.reject_bin if recognition.unseen_colour else bin_index

    def _finish(self, brick: int, outcome: str, bin_index: int | None, images: list[str], note: str | None) -> None:
        self.journal.finish_brick(brick, outcome, images, note)
        self.outcomes[outcome] += 1
        if self.status is not None:
            self.status.record(outcome, bin_index)

    def _reconnect(self, cause: BridgeError) -> None:
        self.say(f"serial link lost ({cause}); the brick in flight is journalled unresolved. Reconnecting...")
        last: BaseException = cause
        for _ in range(self.settings.reconnect_attempts):
            if self.should_stop():
                raise RigLostError(f"stopped while reconnecting to the rig after: {cause}")
            try:
                self.rig.close()
            except OSError:
                pass  # the port is already gone; closing is only tidying up
            try:
                self.rig.connect()  # re-initialises the board: line numbers, units, steps/unit
                self._prepare_rig()
            except BridgeError as exc:
                last = exc
                time.sleep(self.settings.reconnect_delay_s)
                continue
            self.reconnects += 1
            self.say("reconnected; rig re-initialised, sorting resumes")
            return
        raise RigLostError(f"could not reconnect to the rig after {self.settings.reconnect_attempts} attempts: {last}")

    def _prepare_rig(self) -> None:
        # A board that reset (every reconnect does) counts positions from where it stands:
        # homing puts the chute and pusher back at their endstops so bin angles mean something.
        self.rig.enable_steppers()
        self.rig.home()
        self.rig.wait_for_moves()

    def _park(self) -> None:
        try:
            self.rig.wait_for_moves()
            self.rig.disable_steppers()
        except OSError as exc:
            self.say(f"could not disable the steppers ({exc}); switch the rig off by hand")
