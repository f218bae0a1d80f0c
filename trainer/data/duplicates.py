"""Exact duplicates (same bytes) and near-duplicates (near-identical brick crops).

Near-duplicate search compares crop descriptors by cosine similarity, block by block
with one matrix product each, so ~5k images take well under a second. Thresholds were
calibrated on turntable-10: same-class pairs at >= 0.94 are the same brick in the same
pose a few degrees apart; the closest pair of different classes there scores 0.967
(a red 1x4 and 2x4 brick seen end-on), so only >= 0.985 across classes counts as one
image filed under two labels.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from trainer.data.dataset import ImageItem
from trainer.data.split import item_components

NEAR_THRESHOLD = 0.94
CONFLICT_THRESHOLD = 0.985
BLOCK = 1024


@dataclass(frozen=True)
class DuplicateConfig:
    """Similarity thresholds (cosine of crop descriptors)."""

    near_threshold: float = NEAR_THRESHOLD
    conflict_threshold: float = CONFLICT_THRESHOLD

    def __post_init__(self) -> None:
        if not 0.0 < self.near_threshold <= 1.0:
            raise ValueError(f"near_threshold must be in (0, 1], got {self.near_threshold}")
        if not self.near_threshold <= self.conflict_threshold <= 1.0:
            raise ValueError(
                f"conflict_threshold must be in [near_threshold, 1], got {self.conflict_threshold}"
            )


@dataclass(frozen=True)
class SimilarPair:
    """Two images (indices into the item list) and their crop similarity."""

    first: int
    second: int
    similarity: float


@dataclass
class DuplicateGroup:
    """Images that are copies ("exact") or near-copies ("near") of each other."""

    kind: str
    items: list[ImageItem]

    @property
    def labels(self) -> list[str]:
        """Distinct labels in the group, sorted."""
        return sorted({item.label for item in self.items})

    @property
    def cross_class(self) -> bool:
        """True when the group spans more than one label."""
        return len(self.labels) > 1


def similar_pairs(descriptors: np.ndarray, threshold: float, block: int = BLOCK) -> list[SimilarPair]:
    """Every pair i < j with cosine similarity >= threshold, for unit-length row vectors."""
    descriptors = np.asarray(descriptors, dtype=np.float32)
    pairs: list[SimilarPair] = []
    for start in range(0, len(descriptors), block):
        rows = descriptors[start : start + block]
        # Only columns after each row's own index: each pair once, never an image with itself.
        similarity = rows @ descriptors[start:].T
        lower = np.tril_indices(len(rows), k=0, m=similarity.shape[1])
        similarity[lower] = -np.inf
        first, second = np.nonzero(similarity >= threshold)
        for i, j in zip(first.tolist(), second.tolist()):
            pairs.append(SimilarPair(start + i, start + j, float(similarity[i, j])))
    return pairs


def _groups_from_components(items: Sequence[ImageItem], links: list[list[Path]], kind: str) -> list[DuplicateGroup]:
    # Reuse the split's union-find with every item its own group, so only `links` join items.
    loose = [ImageItem(item.path, item.label, group=str(index)) for index, item in enumerate(items)]
    components = item_components(loose, links)
    return [DuplicateGroup(kind, [items[i] for i in c]) for c in components if len(c) > 1]


def exact_duplicate_groups(items: Sequence[ImageItem], sha256s: Sequence[str]) -> list[DuplicateGroup]:
    """Groups of files with identical bytes."""
    by_hash: dict[str, list[Path]] = {}
    for item, digest in zip(items, sha256s):
        by_hash.setdefault(digest, []).append(item.path)
    return _groups_from_components(items, [paths for paths in by_hash.values() if len(paths) > 1], "exact")


def near_duplicate_groups(
    items: Sequence[ImageItem], pairs: Sequence[SimilarPair], conflict_threshold: float = CONFLICT_THRESHOLD
) -> list[DuplicateGroup]:
    """Connected groups of images linked by similar pairs (a chain of near-copies is one group).
    Pairs of different labels link only from `conflict_threshold` up: below it they are look-alike
    parts, and letting them link chains whole classes together (on turntable-10 a 447-image
    group of red 1x4 and 2x4 bricks)."""
    links = [
        [items[p.first].path, items[p.second].path]
        for p in pairs
        if items[p.first].label == items[p.second].label or p.similarity >= conflict_threshold
    ]
    return _groups_from_components(items, links, "near")


@dataclass(frozen=True)
class LabelConflict:
    """One image filed under two labels: same bytes, or crops too alike to be different parts."""

    first: ImageItem
    second: ImageItem
    kind: str  # "exact" or "near"
    similarity: float


@dataclass
class DuplicateFindings:
    """Everything the duplicate search found over `items` (pair indices point into it)."""

    items: list[ImageItem]
    exact: list[DuplicateGroup]
    near: list[DuplicateGroup]
    pairs: list[SimilarPair]  # every pair above the near threshold, look-alikes across classes included
    conflicts: list[LabelConflict]

    def link_sets(self) -> list[list[Path]]:
        """Path sets that must stay on one side of a split (pass as `make_split(groups=...)`)."""
        return [[item.path for item in group.items] for group in self.exact + self.near]

    def lookalikes(self, conflict_threshold: float = CONFLICT_THRESHOLD) -> list[SimilarPair]:
        """Similar pairs of different labels below the conflict threshold: parts that look alike."""
        return [
            p
            for p in self.pairs
            if self.items[p.first].label != self.items[p.second].label and p.similarity < conflict_threshold
        ]


def find_duplicates(
    items: Sequence[ImageItem],
    sha256s: Sequence[str],
    descriptors: np.ndarray,
    config: DuplicateConfig = DuplicateConfig(),
) -> DuplicateFindings:
    """Exact and near-duplicate groups of `items` and the label conflicts among them.
    `sha256s` and `descriptors` (unit rows, see trainer.data.crops) are aligned with `items`."""
    if not len(items) == len(sha256s) == len(descriptors):
        raise ValueError(f"got {len(items)} items, {len(sha256s)} hashes and {len(descriptors)} descriptors")
    exact = exact_duplicate_groups(items, sha256s)
    pairs = similar_pairs(descriptors, config.near_threshold) if len(items) else []
    conflicts = []
    for group in exact:
        if group.cross_class:
            first = group.items[0]
            conflicts += [LabelConflict(first, other, "exact", 1.0) for other in group.items[1:] if other.label != first.label]
    for pair in pairs:
        first, second = items[pair.first], items[pair.second]
        same_bytes = sha256s[pair.first] == sha256s[pair.second]
        if first.label != second.label and pair.similarity >= config.conflict_threshold and not same_bytes:
            conflicts.append(LabelConflict(first, second, "near", pair.similarity))
    return DuplicateFindings(items=list(items), exact=exact, near=near_duplicate_groups(items, pairs, config.conflict_threshold), pairs=pairs, conflicts=conflicts)
