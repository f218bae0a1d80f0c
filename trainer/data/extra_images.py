"""Extra training images (`--extra-train`): rendered bricks or other photos that only ever
train, checked so that no held-out picture trains through them.

- A byte-for-byte copy of a validation or test image, or the same photo re-encoded or resized
  (whole frames alike, the duplicate search's identity rule), is refused: the folder is wrong.
- An image whose brick crop is a near-duplicate of a held-out image of the same part (the rule
  that keeps such sets on one side of the split) is left out of training, with a note: the
  same brick in the same pose a few degrees on would let the score count a view it trained on.
  A render can match a real photo this way too; on turntable-10 15 of 4,500 did.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from trainer.data.analysis import ImageFacts, analyse_images
from trainer.data.crops import CropConfig
from trainer.data.dataset import ImageItem, load_dataset
from trainer.data.duplicates import DuplicateConfig, identical_across, similar_across


@dataclass(frozen=True)
class HeldOutTwin:
    """An extra image and the held-out image it repeats; `score` is the crop similarity, or the
    whole-frame RMS difference for the same photo."""

    extra: ImageItem
    held_out: ImageItem
    score: float


@dataclass
class ExtraImages:
    """What `--extra-train` adds: `items` train; `left_out` are near-duplicates of held-out images."""

    items: list[ImageItem]
    left_out: list[HeldOutTwin]


def load_extra_images(
    folders: Sequence[Path],
    classes: Sequence[str],
    held_out: Sequence[ImageItem],
    crops_cache: Path | None,
    crop: CropConfig = CropConfig(),
    duplicates: DuplicateConfig = DuplicateConfig(),
) -> ExtraImages:
    """The images in `folders` (class subfolders, only classes among `classes`), minus those
    whose crop repeats a `held_out` image of the same part. Raises ValueError for an unknown
    class or a copy of a held-out photo. Crop descriptors are cached under `crops_cache`."""
    items: list[ImageItem] = []
    for folder in folders:
        extra = load_dataset(folder, min_classes=1)
        unknown = sorted(set(extra.classes) - set(classes))
        if unknown:
            raise ValueError(
                f"extra training folder {folder} has classes the data has not: {', '.join(unknown)} "
                f"(the data's: {', '.join(classes)})"
            )
        items.extend(extra.items)
    if not items or not held_out:
        return ExtraImages(items, [])
    facts = analyse_images([item.path for item in [*items, *held_out]], crop, cache_dir=crops_cache)
    extra_facts, held_facts = facts[: len(items)], facts[len(items) :]
    _refuse_byte_copies(items, held_out, extra_facts, held_facts)
    # Unreadable files have no descriptor or thumbnail: training lists and skips them (skipped.json).
    extra_rows = [i for i, fact in enumerate(extra_facts) if fact.problem is None]
    held_rows = [j for j, fact in enumerate(held_facts) if fact.problem is None]
    if not extra_rows or not held_rows:
        return ExtraImages(items, [])
    extra_readable = [extra_facts[i] for i in extra_rows]
    held_readable = [held_facts[j] for j in held_rows]
    same = identical_across(
        _stacked(extra_readable, "thumbnail"), _stacked(held_readable, "thumbnail"), duplicates.identical_rms
    )
    if same:
        item, twin = items[extra_rows[same[0].first]], held_out[held_rows[same[0].second]]
        raise ValueError(
            f"{len({pair.first for pair in same})} extra training image(s) are the same photos as validation or "
            f"test images (re-encoded or resized: whole frames within {duplicates.identical_rms:g} levels), e.g. "
            f"{item.path} ~ {twin.path}: remove them, or the scores would count pictures the model trained on"
        )
    closest: dict[int, HeldOutTwin] = {}
    similar = similar_across(
        _stacked(extra_readable, "descriptor"), _stacked(held_readable, "descriptor"), duplicates.near_threshold
    )
    for pair in similar:
        index = extra_rows[pair.first]
        extra, twin = items[index], held_out[held_rows[pair.second]]
        if extra.label == twin.label and (index not in closest or pair.score > closest[index].score):
            closest[index] = HeldOutTwin(extra, twin, pair.score)
    kept = [item for i, item in enumerate(items) if i not in closest]
    return ExtraImages(kept, [closest[i] for i in sorted(closest)])


def _stacked(facts: Sequence[ImageFacts], field: str) -> np.ndarray:
    return np.stack([getattr(fact, field) for fact in facts])


def _refuse_byte_copies(
    items: Sequence[ImageItem],
    held_out: Sequence[ImageItem],
    extra_facts: Sequence[ImageFacts],
    held_facts: Sequence[ImageFacts],
) -> None:
    """ValueError when an extra file has the same bytes as a held-out one."""
    held_by_hash = {fact.sha256: item for item, fact in zip(held_out, held_facts)}
    copies = [(item, held_by_hash[fact.sha256]) for item, fact in zip(items, extra_facts) if fact.sha256 in held_by_hash]
    if copies:
        item, twin = copies[0]
        raise ValueError(
            f"{len(copies)} extra training image(s) are copies of validation or test images, e.g. {item.path} "
            f"= {twin.path}: remove them, or the scores would count pictures the model trained on"
        )
