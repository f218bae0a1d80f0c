"""Views -> model inputs -> per-view probabilities -> fused decision, with the bundle's own settings."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from device.sort.fusion import Decision, decide, top_scores
from device.vision.preprocess import model_input

if TYPE_CHECKING:
    from device.classifier.bundle import Bundle


class ProbabilityModel(Protocol):
    """What the loop needs of a classifier (`device.classifier.classifier.Classifier` provides it)."""

    labels: list[str]

    def probabilities(self, crops: list[np.ndarray]) -> np.ndarray: ...


@dataclass(frozen=True)
class Recognition:
    """One brick's views as the model saw them, and the fused decision."""

    probabilities: np.ndarray  # (views, classes)
    decision: Decision
    view_scores: list[list[tuple[str, float]]]  # per view, its top parts: what the journal keeps


class Recogniser:
    """Classifies the K views of a brick with one loaded model and fuses them."""

    def __init__(
        self, model: ProbabilityModel, input_hw: tuple[int, int], margin: float, reject_threshold: float
    ) -> None:
        if not 0.0 <= reject_threshold <= 1.0:
            raise ValueError(f"reject_threshold must be in [0, 1], got {reject_threshold}")
        self.model = model
        self.input_hw = input_hw
        self.margin = margin
        self.reject_threshold = reject_threshold

    @property
    def labels(self) -> list[str]:
        """Class index -> part id."""
        return list(self.model.labels)

    def recognise(self, frames: list[np.ndarray], earlier: Recognition | None = None) -> Recognition:
        """Crop each view exactly as the trainer did (`model_input`), classify all at once, fuse;
        with `earlier` (the same brick's first views), fuse those and the new `frames` together
        without classifying the first views again."""
        crops = [model_input(frame, self.input_hw, self.margin) for frame in frames]
        probabilities = np.asarray(self.model.probabilities(crops), dtype=np.float32)
        if earlier is not None:
            probabilities = np.concatenate([earlier.probabilities, probabilities])
        decision = decide(probabilities, self.labels, self.reject_threshold)
        return Recognition(probabilities, decision, top_scores(probabilities, self.labels))


def recogniser_from_bundle(bundle: Bundle | str, num_threads: int | None = None) -> Recogniser:
    """Load the bundle's classifier once (from a folder path, or a bundle already loaded), take
    margin, input size and threshold from its metadata, and warm it up."""
    from device.classifier.bundle import Bundle, load_bundle
    from device.classifier.classifier import Classifier

    bundle = bundle if isinstance(bundle, Bundle) else load_bundle(bundle)
    classifier = Classifier(bundle, num_threads=num_threads)
    classifier.warm_up()  # so that the first brick does not pay the one-time costs
    meta = bundle.metadata
    return Recogniser(classifier, meta.input_hw, meta.crop_margin, meta.reject_threshold)
