"""`evaluate_bundle`: judge a model bundle on any folder of class subfolders, through the
device's own `Classifier` and `model_input`, one image at a time as the Pi sees them."""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from device.classifier.classifier import Classifier, top_categories
from device.vision.colour import brick_colour_name, unseen_colour
from device.vision.preprocess import find_and_crop
from trainer.data.dataset import load_dataset
from trainer.data.images import UnreadableImageError, read_image_rgb
from trainer.evaluate.metrics import classification_metrics
from trainer.evaluate.report import CONFUSION_PNG, Mistake, plot_confusion, write_misclassified


@dataclass
class EvaluationReport:
    """Everything `evaluate` measured; `to_json()` is the `--json` file."""

    bundle: str
    data: str
    quantization: str
    images: int
    accuracy: float
    top_k: dict[str, float]
    per_class: dict[str, dict[str, Any]]
    confusion_matrix: list[list[int]]
    labels: list[str]
    latency_ms: dict[str, dict[str, float]]
    skipped: list[str] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    # What the sorter's colour check would do with these images, one view each: how many of the
    # wrong and of the right answers it would reject. None: the bundle records no part colours.
    colour_check: dict[str, int] | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-safe dict with `accuracy` (0..1) and `images` at the top level."""
        return asdict(self)

    def save_json(self, path: Path) -> None:
        """Write `to_json()` to `path`."""
        Path(path).write_text(json.dumps(self.to_json(), indent=2), encoding="utf-8")


def _summary_ms(seconds: list[float]) -> dict[str, float]:
    ms = np.array(seconds) * 1000.0
    return {"mean": float(ms.mean()), "p50": float(np.percentile(ms, 50)), "p95": float(np.percentile(ms, 95))}


def evaluate_bundle(
    bundle_path: Path | str,
    data_root: Path | str,
    out_dir: Path | str | None = None,
    quantization: str | None = None,
    num_threads: int | None = None,
) -> EvaluationReport:
    """Accuracy, top-k, per-class precision/recall, confusion matrix and per-image latency of
    the bundle's model (default: its own quantisation) on every image under `data_root`.
    With `out_dir`, also writes the confusion-matrix PNG, the misclassified HTML page and
    report.json there. Unreadable images are listed and skipped."""
    classifier = Classifier(bundle_path, num_threads=num_threads, quantization=quantization)
    dataset = load_dataset(data_root, min_classes=1)  # new photos of one part are a fair test too
    unknown = sorted(set(dataset.classes) - set(classifier.labels))
    if unknown:
        raise ValueError(f"{data_root} has classes the bundle does not know: {', '.join(unknown)}")
    index = {label: i for i, label in enumerate(classifier.labels)}
    margin = classifier.bundle.metadata.crop_margin
    part_colours = classifier.bundle.metadata.part_colours
    check = {"wrong": 0, "wrong_rejected": 0, "right": 0, "right_rejected": 0}
    rows, labels, skipped, mistakes = [], [], [], []
    preprocess_s, inference_s = [], []
    for item in tqdm(dataset.items, desc="evaluating", unit="img"):
        start = time.perf_counter()
        try:
            frame = read_image_rgb(item.path)
        except UnreadableImageError as exc:
            skipped.append(str(exc))
            continue
        box, crop = find_and_crop(frame, classifier.input_hw, margin)
        middle = time.perf_counter()
        probabilities = classifier.probabilities([crop])[0]
        end = time.perf_counter()
        preprocess_s.append(middle - start)
        inference_s.append(end - middle)
        rows.append(probabilities)
        labels.append(index[item.label])
        if part_colours:
            outcome = "right" if probabilities.argmax() == labels[-1] else "wrong"
            colours = [brick_colour_name(frame, box)] if box is not None else []
            check[outcome] += 1
            check[f"{outcome}_rejected"] += unseen_colour(part_colours, classifier.labels[int(probabilities.argmax())], colours) is not None
        if probabilities.argmax() != labels[-1]:  # keep only the crops the report shows
            top3 = [(c.label, c.score) for c in top_categories(probabilities, classifier.labels, 3)]
            mistakes.append(Mistake(dataset.relative(item), item.label, crop, top3))
    if not rows:
        raise ValueError(f"no readable images under {data_root}")
    metrics = classification_metrics(np.stack(rows), np.array(labels), classifier.labels)
    report = EvaluationReport(
        bundle=str(bundle_path),
        data=str(dataset.root),
        quantization=quantization or classifier.bundle.metadata.quantization,
        images=len(rows),
        labels=list(classifier.labels),
        latency_ms={"preprocess": _summary_ms(preprocess_s), "inference": _summary_ms(inference_s)},
        skipped=skipped,
        colour_check=check if part_colours else None,
        **metrics,
    )
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        title = f"{Path(bundle_path).name} on {dataset.root.name}: accuracy {100 * report.accuracy:.2f}% of {report.images}"
        report.outputs = {
            "confusion_matrix": str(plot_confusion(np.array(report.confusion_matrix), classifier.labels, out / CONFUSION_PNG, title)),
            "misclassified": str(write_misclassified(mistakes, out, title)),
            "json": str(out / "report.json"),
        }
        report.save_json(out / "report.json")
    return report
