"""Best-checkpoint bookkeeping that survives restarts.

`state.json` records, per phase, how many epochs are done, and the best validation loss
with the epoch and phase it came from. `best.weights.h5` (the full model) is replaced only
when a later epoch beats that score, so a resumed run never overwrites a better checkpoint
with a worse one.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import keras

STATE_FILE = "state.json"
BEST_WEIGHTS = "best.weights.h5"
BEST_HEAD_WEIGHTS = "best_head.weights.h5"  # phase 1 only: the head is all that changes


@dataclass
class RunState:
    """Progress of a run; `best_val_loss` is +inf until the first epoch ends."""

    best_val_loss: float = math.inf
    best_val_accuracy: float = 0.0
    best_epoch: int = -1  # 0-based epoch within `best_phase`
    best_phase: str = ""
    epochs_done: dict[str, int] = field(default_factory=dict)
    finished: list[str] = field(default_factory=list)  # phases that ran to the end or stopped early

    def needs(self, phase: str, epochs: int) -> bool:
        """Whether `phase` still has epochs to run."""
        return phase not in self.finished and self.epochs_done.get(phase, 0) < epochs

    def finish(self, phase: str, run_dir: Path) -> None:
        """Record that `phase` is over (its last epoch ran or early stopping ended it)."""
        if phase not in self.finished:
            self.finished.append(phase)
        self.save(run_dir)

    def save(self, run_dir: Path) -> None:
        """Write `state.json` atomically."""
        raw = asdict(self)
        raw["best_val_loss"] = None if math.isinf(self.best_val_loss) else self.best_val_loss
        tmp = run_dir / (STATE_FILE + ".tmp")
        tmp.write_text(json.dumps(raw, indent=2), encoding="utf-8")
        os.replace(tmp, run_dir / STATE_FILE)

    @classmethod
    def load(cls, run_dir: Path) -> "RunState":
        """The saved state, or a fresh one when the run has none yet."""
        path = run_dir / STATE_FILE
        if not path.is_file():
            return cls()
        raw = json.loads(path.read_text(encoding="utf-8"))
        if raw.get("best_val_loss") is None:
            raw["best_val_loss"] = math.inf
        return cls(**raw)


class BestCheckpoint(keras.callbacks.Callback):
    """After every epoch: save `saved`'s weights to `file_name` if val loss beat the run's best,
    then record the epoch as done. `improved` says whether any epoch of this fit saved."""

    def __init__(self, saved: keras.Model, run_dir: Path, state: RunState, phase: str, file_name: str = BEST_WEIGHTS) -> None:
        super().__init__()
        self.saved = saved
        self.run_dir = run_dir
        self.state = state
        self.phase = phase
        self.file_name = file_name
        self.improved = False

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        self.state.epochs_done[self.phase] = epoch + 1
        val_loss = float(logs.get("val_loss", math.inf))
        if math.isnan(val_loss):
            print(f"{self.phase} epoch {epoch + 1}: validation loss is NaN (training diverged); the best checkpoint "
                  f"stays {self.state.best_phase or 'unset'} epoch {self.state.best_epoch + 1}")
        if not self.offer(val_loss, float(logs.get("val_accuracy", 0.0)), epoch):
            self.state.save(self.run_dir)  # offer saves the state itself when it improves

    def offer(self, val_loss: float, val_accuracy: float, epoch: int) -> bool:
        """Save `saved`'s weights as they are now if `val_loss` beats the run's best; True if so.
        A NaN loss never does (a diverged epoch)."""
        if not val_loss < self.state.best_val_loss:  # written so NaN fails it: `nan >= best` is False too
            return False
        # Keras insists on the suffix, so the temp name keeps it.
        tmp = self.run_dir / ("tmp." + self.file_name)
        self.saved.save_weights(tmp)
        os.replace(tmp, self.run_dir / self.file_name)
        self.state.best_val_loss = val_loss
        self.state.best_val_accuracy = val_accuracy
        self.state.best_epoch = epoch
        self.state.best_phase = self.phase
        self.improved = True
        self.state.save(self.run_dir)
        return True


def save_full_best(model: keras.Model, run_dir: Path) -> None:
    """Write `model`'s weights as the run's best checkpoint (atomically)."""
    tmp = run_dir / ("tmp." + BEST_WEIGHTS)
    model.save_weights(tmp)
    os.replace(tmp, run_dir / BEST_WEIGHTS)
