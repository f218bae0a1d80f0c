"""One sorting session: connect the rig, open the journal, run the loop, close everything.

The same function serves the real rig and the digital twin; only the rig config's port,
the camera and the (optional) ground-truth source differ.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from device.cameras.base import Camera
from device.sort.bins_config import BinsConfig
from device.sort.eyes import Eyes, EyesConfig
from device.sort.journal import Journal
from device.sort.loop import LoopResult, LoopSettings, SortLoop, TruthSource
from device.sort.recognise import Recogniser
from device.sort.review import ReviewPolicy
from device.sort.status import StatusLine
from firmware_bridge.rig import Rig
from firmware_bridge.rig_config import RigConfig


@dataclass
class SessionOptions:
    """Everything about a session besides the rig, camera, model and bins."""

    journal: Path
    settings: LoopSettings = field(default_factory=LoopSettings)
    review_dir: Path | None = None  # default: JOURNAL.review
    keep_below: float = 0.9
    eyes: EyesConfig = field(default_factory=EyesConfig)
    info: dict[str, Any] = field(default_factory=dict)  # stored with the journal's session row

    def __post_init__(self) -> None:
        self.review_policy()  # a bad keep_below fails here, before a journal or a twin is opened

    def review_policy(self) -> ReviewPolicy:
        """Which bricks' views are kept, and where (default: beside the journal, JOURNAL.review)."""
        return ReviewPolicy(self.review_dir or Path(f"{self.journal}.review"), self.keep_below)


def run_session(
    rig_config: RigConfig,
    camera: Camera,
    recogniser: Recogniser,
    bins: BinsConfig,
    options: SessionOptions,
    *,
    truth: TruthSource | None = None,
    status: StatusLine | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    say: Callable[[str], None] = print,
    on_loop: Callable[[SortLoop], None] | None = None,
) -> LoopResult:
    """Connect, sort until the loop ends, then disconnect and close the journal (also on errors)."""
    journal_path = Path(options.journal)
    with camera:
        rig = Rig(rig_config)
        rig.connect()
        try:
            with Journal.open(journal_path, info=options.info) as journal:
                if journal.recovered:
                    say(f"journal: {len(journal.recovered)} brick(s) left in flight by the last run marked unresolved")
                loop = SortLoop(
                    rig,
                    Eyes(camera, Path(f"{journal_path}.background.npz"), options.eyes),
                    recogniser,
                    bins,
                    journal,
                    options.settings,
                    review=options.review_policy(),
                    truth=truth,
                    status=status,
                    should_stop=should_stop,
                    say=say,
                )
                if on_loop is not None:
                    on_loop(loop)
                return loop.run()
        finally:
            rig.close()
