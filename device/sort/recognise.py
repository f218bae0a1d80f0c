"""Views -> model inputs -> per-view probabilities -> fused decision, with the bundle's own settings."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping, Protocol

import numpy as np

from device.sort.fusion import Decision, decide, top_scores
from device.vision.colour import brick_colour_name, unseen_colour
from device.vision.preprocess import find_and_crop

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
    colours: tuple[str, ...] = ()  # per view where a brick was found (device.vision.colour); () unchecked
    # The brick's colour when no training photo showed the fused top part in it (or in a colour
    # of its family): such a guess is not to be trusted, so the loop rejects the brick. None:
    # seen, or not checked.
    unseen_colour: str | None = None


class Recogniser:
    """Classifies the K views of a brick with one loaded model and fuses them."""

    def __init__(
        self,
        model: ProbabilityModel,
        input_hw: tuple[int, int],
        margin: float,
        reject_threshold: float,
        part_colours: Mapping[str, Mapping[str, int]] | None = None,
    ) -> None:
        """`part_colours` (a bundle's: part -> colour -> training photos) turns the colour
        check on: a brick whose fused top part no training photo showed in its colour is
        flagged (`Recognition.unseen_colour`). None or empty: no check."""
        if not 0.0 <= reject_threshold <= 1.0:
            raise ValueError(f"reject_threshold must be in [0, 1], got {reject_threshold}")
        self.model = model
        self.input_hw = input_hw
        self.margin = margin
        self.reject_threshold = reject_threshold
        self.part_colours = part_colours or None

    @property
    def labels(self) -> list[str]:
        """Class index -> part id."""
        return list(self.model.labels)

    def recognise(self, frames: list[np.ndarray], earlier: Recognition | None = None) -> Recognition:
        """Crop each view exactly as the trainer did (`model_input`'s finder and crop), classify all
        at once, fuse, and name each view's brick colour when the colour check is on;
        with `earlier` (the same brick's first views), fuse those and the new `frames` together
        without classifying the first views again."""
        found = [find_and_crop(frame, self.input_hw, self.margin) for frame in frames]
        probabilities = np.asarray(self.model.probabilities([crop for _, crop in found]), dtype=np.float32)
        colours = ()
        if self.part_colours is not None:
            colours = tuple(brick_colour_name(frame, box) for frame, (box, _) in zip(frames, found) if box is not None)
        if earlier is not None:
            probabilities = np.concatenate([earlier.probabilities, probabilities])
            colours = earlier.colours + colours
        decision = decide(probabilities, self.labels, self.reject_threshold)
        unseen = unseen_colour(self.part_colours, self.labels[decision.index], colours) if self.part_colours is not None else None
        return Recognition(probabilities, decision, top_scores(probabilities, self.labels), colours, unseen)


def recogniser_from_bundle(bundle: Bundle | str, num_threads: int | None = None, colour_check: bool = True) -> Recogniser:
    """Load the bundle's classifier once (from a folder path, or a bundle already loaded), take
    margin, input size, threshold and (with `colour_check`) part colours from its metadata, and
    warm it up."""
    from device.classifier.bundle import Bundle, load_bundle
    from device.classifier.classifier import Classifier

    bundle = bundle if isinstance(bundle, Bundle) else load_bundle(bundle)
    classifier = Classifier(bundle, num_threads=num_threads)
    classifier.warm_up()  # so that the first brick does not pay the one-time costs
    meta = bundle.metadata
    return Recogniser(classifier, meta.input_hw, meta.crop_margin, meta.reject_threshold, meta.part_colours if colour_check else None)
