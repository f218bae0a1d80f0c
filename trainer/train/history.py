"""Training history: per-epoch metrics of every phase in `history.json`, drawn as `curves.png`,
a tqdm bar over epochs, and TensorBoard logs per epoch."""
from __future__ import annotations

import json
from pathlib import Path

import keras
from tqdm import tqdm

HISTORY_FILE = "history.json"
CURVES_FILE = "curves.png"


class EpochLog(keras.callbacks.Callback):
    """Appends each epoch's logs to `history.json` (so a resumed run keeps its earlier epochs)
    and shows a progress bar over the phase's epochs."""

    def __init__(self, run_dir: Path, phase: str, epochs: int, initial_epoch: int) -> None:
        super().__init__()
        self.path = run_dir / HISTORY_FILE
        self.phase = phase
        self.bar = tqdm(total=epochs, initial=initial_epoch, desc=phase, unit="epoch")

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        entry = {"phase": self.phase, "epoch": epoch, **{k: float(v) for k, v in (logs or {}).items()}}
        history = load_history(self.path.parent)
        history = [h for h in history if (h["phase"], h["epoch"]) != (self.phase, epoch)] + [entry]
        self.path.write_text(json.dumps(history, indent=1), encoding="utf-8")
        self.bar.set_postfix(loss=f"{entry.get('loss', 0):.3f}", val_loss=f"{entry.get('val_loss', 0):.3f}")
        self.bar.update(1)

    def on_train_end(self, logs: dict | None = None) -> None:
        self.bar.close()


class EpochTensorBoard(keras.callbacks.TensorBoard):
    """TensorBoard logs once per epoch (a folder per phase, see `run.py`). Keras' callback turns
    every batch's logs into summaries even when it writes only per epoch, ~0.9 ms a batch for
    nothing (~1 s of a warm turntable-10 run); this one skips the batch hook. The layer graph
    is still written when training begins."""

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """Nothing: every figure this callback writes is an epoch's."""


def load_history(run_dir: Path) -> list[dict]:
    """Every epoch logged so far, in order."""
    path = Path(run_dir) / HISTORY_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []


def plot_curves(run_dir: Path) -> Path:
    """Loss and accuracy (train and val) over all epochs of all phases, as `curves.png`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    history = load_history(run_dir)
    steps = list(range(1, len(history) + 1))
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, metric in zip(axes, ("loss", "accuracy")):
        for key, style in ((metric, "-"), (f"val_{metric}", "--")):
            ax.plot(steps, [h.get(key, float("nan")) for h in history], style, label=key)
        boundaries = [i + 1 for i in range(1, len(history)) if history[i]["phase"] != history[i - 1]["phase"]]
        for x in boundaries:
            ax.axvline(x - 0.5, color="grey", linewidth=0.8)
        ax.set_xlabel("epoch (all phases)")
        ax.set_title(metric)
        ax.legend()
    fig.tight_layout()
    out = Path(run_dir) / CURVES_FILE
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
