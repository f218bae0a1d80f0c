"""Deterministic, stratified, grouped train/val/test splits that cannot leak twins.

Items are joined into components (union-find) by their capture group and by any extra
groups given (exact and near-duplicate sets); a component lands on one side only. Each
class is filled towards its val/test targets with whole components, in a seeded order, and
no side takes more than its share of a class's components either.

The order is a seeded hash of each component's first file name (relative to the dataset
root), not a shuffle by one random stream: a shuffle gives every class after a change a new
order, so one near-duplicate link that another machine's floating point tips across its
threshold (turntable-10 has five same-part pairs within 1e-5 of it, and its link sets came out
one apart on two machines of this project) or one added part re-dealt the whole split. With
the hash, such a change moves only components of the class it touches.
"""
from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable

from trainer.data.dataset import Dataset, ImageItem

SPLIT_FORMAT = "bricksort-split"
SPLIT_VERSION = 1
SPLIT_NAMES = ("train", "val", "test")
MIN_DOMINANT_SET = 10  # a held-out set this big that is most of its part's side gets a note


@dataclass(frozen=True)
class DominantSet:
    """A held-out side of a class that is mostly one duplicate set."""

    side: str
    label: str
    set_images: int  # the set's images
    side_images: int  # the side's images of the class


class SplitError(ValueError):
    """Bad split parameters or a split file that does not fit its dataset."""


@dataclass(frozen=True)
class LeakageStats:
    """How many evaluation images have a twin (same component) in the training side."""

    components: int  # groups after joining sessions and duplicate sets
    largest_component: int
    leaked_val: int  # in this split: zero by construction, counted to prove it
    leaked_test: int
    naive_leaked_val: int  # under a plain stratified random split with the same seed
    naive_leaked_test: int
    naive_test_size: int


@dataclass
class Split:
    """Items per side plus how they were chosen; `root` is the dataset root the paths live under."""

    root: Path
    classes: list[str]
    train: list[ImageItem]
    val: list[ImageItem]
    test: list[ImageItem]
    seed: int
    val_fraction: float
    test_fraction: float
    leakage: LeakageStats | None = None
    # Known only for a split just made (not saved).
    dominant_sets: list[DominantSet] = field(default_factory=list)

    def side(self, name: str) -> list[ImageItem]:
        """Items of side `name` ("train", "val" or "test")."""
        if name not in SPLIT_NAMES:
            raise SplitError(f"unknown split side {name!r}: use one of {', '.join(SPLIT_NAMES)}")
        return getattr(self, name)

    def counts(self) -> dict[str, dict[str, int]]:
        """side -> class -> number of images (every class listed)."""
        result = {}
        for name in SPLIT_NAMES:
            per_class = {label: 0 for label in self.classes}
            for item in self.side(name):
                per_class[item.label] += 1
            result[name] = per_class
        return result

    def summary(self) -> list[str]:
        """Lines for a person: side sizes, what grouping kept apart, and the held-out sides
        that are mostly one duplicate set (whose per-part figures then rest on one brick)."""
        sizes = " / ".join(f"{name} {len(self.side(name))}" for name in SPLIT_NAMES)
        lines = [f"split (seed {self.seed}): {sizes} images"]
        if self.leakage:
            leak = self.leakage
            lines.append(
                f"  {leak.components} duplicate sets kept whole (largest {leak.largest_component}); a plain random split "
                f"would have put {leak.naive_leaked_test} of its {leak.naive_test_size} test images beside a twin in training"
            )
        for lump in self.dominant_sets:
            lines.append(
                f"  note: {lump.set_images} of {lump.label}'s {lump.side_images} {lump.side} images are one duplicate set, "
                f"so its {lump.side} figure rests mostly on one brick and look"
            )
        return lines

    def save(self, path: Path | str) -> None:
        """Write the split as JSON with paths relative to the dataset root."""
        doc = {
            "format": SPLIT_FORMAT,
            "version": SPLIT_VERSION,
            "seed": self.seed,
            "val_fraction": self.val_fraction,
            "test_fraction": self.test_fraction,
            "classes": self.classes,
            "leakage": asdict(self.leakage) if self.leakage else None,
        }
        for name in SPLIT_NAMES:
            doc[name] = [
                {"path": item.path.relative_to(self.root).as_posix(), "label": item.label, "group": item.group}
                for item in self.side(name)
            ]
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path | str, dataset_root: Path | str) -> "Split":
        """Read a split saved by `save`, resolving its paths under `dataset_root`.
        Raises SplitError when the file is malformed or names images that are not there."""
        path, root = Path(path), Path(dataset_root).resolve()
        try:
            doc = json.loads(Path(path).read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise SplitError(f"{path}: not a split file: {exc}") from None
        if not isinstance(doc, dict) or doc.get("format") != SPLIT_FORMAT:
            raise SplitError(f"{path}: not a {SPLIT_FORMAT} file")
        if doc.get("version") != SPLIT_VERSION:
            raise SplitError(f"{path}: split version {doc.get('version')!r} is not supported (know {SPLIT_VERSION})")
        sides: dict[str, list[ImageItem]] = {}
        missing: list[str] = []
        try:
            for name in SPLIT_NAMES:
                sides[name] = []
                for entry in doc[name]:
                    item_path = (root / entry["path"]).resolve()
                    if root not in item_path.parents:
                        raise SplitError(f"{path}: entry {entry['path']!r} points outside {root}")
                    if not item_path.is_file():
                        missing.append(entry["path"])
                    sides[name].append(ImageItem(path=item_path, label=entry["label"], group=entry["group"]))
            leakage = LeakageStats(**doc["leakage"]) if doc.get("leakage") else None
            split = cls(
                root=root,
                classes=list(doc["classes"]),
                train=sides["train"],
                val=sides["val"],
                test=sides["test"],
                seed=int(doc["seed"]),
                val_fraction=float(doc["val_fraction"]),
                test_fraction=float(doc["test_fraction"]),
                leakage=leakage,
            )
        except (KeyError, TypeError) as exc:
            raise SplitError(f"{path}: malformed split file: missing or bad field {exc}") from None
        if missing:
            shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
            raise SplitError(f"{path}: {len(missing)} image(s) of the split are missing under {root}: {shown}")
        return split


class _UnionFind:
    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, index: int) -> int:
        while self.parent[index] != index:
            self.parent[index] = self.parent[self.parent[index]]
            index = self.parent[index]
        return index

    def union(self, a: int, b: int) -> None:
        root_a, root_b = self.find(a), self.find(b)
        if root_a != root_b:
            self.parent[max(root_a, root_b)] = min(root_a, root_b)


def item_components(items: list[ImageItem], groups: Iterable[Iterable[Path]] | None = None) -> list[list[int]]:
    """Indices of `items` joined by shared `group` and by each extra set of paths in `groups`;
    components sorted by their first index, members ascending."""
    finder = _UnionFind(len(items))
    by_path = {item.path: index for index, item in enumerate(items)}
    first_of_group: dict[str, int] = {}
    for index, item in enumerate(items):
        finder.union(first_of_group.setdefault(item.group, index), index)
    for paths in groups or ():
        indices = [by_path[Path(p)] for p in paths if Path(p) in by_path]
        for other in indices[1:]:
            finder.union(indices[0], other)
    members: dict[int, list[int]] = {}
    for index in range(len(items)):
        members.setdefault(finder.find(index), []).append(index)
    return sorted(members.values(), key=lambda component: component[0])


def _check_fractions(val_fraction: float, test_fraction: float) -> None:
    for name, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0.0 <= value < 1.0:
            raise SplitError(f"{name} must be in [0, 1), got {value}")
    if val_fraction + test_fraction >= 1.0:
        raise SplitError(f"val_fraction + test_fraction must leave room for training, got {val_fraction + test_fraction}")


def _majority_label(items: list[ImageItem], component: list[int]) -> str:
    counts = Counter(items[i].label for i in component)
    return min(counts, key=lambda label: (-counts[label], label))


def _seeded_order(components: list[list[int]], names: list[str], seed: int) -> list[list[int]]:
    """`components` in an order drawn by `seed` that depends on nothing but each component's
    first name (`names[index]`): adding or joining components leaves the others' order as it was."""
    def draw(component: list[int]) -> str:
        return hashlib.sha256(f"{seed}/{names[component[0]]}".encode()).hexdigest()

    return sorted(components, key=draw)


def _assign_components(
    items: list[ImageItem], components: list[list[int]], names: list[str], seed: int, val_fraction: float, test_fraction: float
) -> list[str]:
    """Side name of every item: per class, whole components in seeded order fill test, then val.

    A side takes at most its fraction of the class's images *and* of its components. With
    images alone, a class whose big components cannot move (turntable-10's red and green 1x4s
    are one linked set each, 376 of the class's 521 photos) fills test and validation with
    every small component, and those were mostly of one look (the white 1x4s): the test then
    measured a colour training never saw, not new bricks of the looks it knows."""
    side_of = [""] * len(items)
    by_class: dict[str, list[list[int]]] = {}
    for component in components:
        by_class.setdefault(_majority_label(items, component), []).append(component)
    for label in sorted(by_class):
        class_components = _seeded_order(by_class[label], names, seed)
        total = sum(len(c) for c in class_components)
        fractions = {"test": test_fraction, "val": val_fraction}
        targets = {name: fraction * total for name, fraction in fractions.items()}
        quotas = {name: max(1, round(fraction * len(class_components))) for name, fraction in fractions.items()}
        chosen: dict[str, list[list[int]]] = {"train": [], "val": [], "test": []}
        filled = {"val": 0, "test": 0}
        for component in class_components:
            side = "train"
            for name in ("test", "val"):
                # Take the component if it brings the side closer to its target.
                fits = filled[name] + len(component) / 2.0 <= targets[name]
                if targets[name] > 0 and fits and len(chosen[name]) < quotas[name]:
                    side = name
                    filled[name] += len(component)
                    break
            chosen[side].append(component)
        for name in ("test", "val"):
            # Components too big for the target leave a side empty: it takes the smallest
            # training component, as long as training keeps at least one.
            if targets[name] > 0 and not chosen[name] and len(chosen["train"]) >= 2:
                smallest = min(chosen["train"], key=len)
                chosen["train"].remove(smallest)
                chosen[name].append(smallest)
        for name, components in chosen.items():
            for component in components:
                for index in component:
                    side_of[index] = name
    return side_of


def _naive_sides(items: list[ImageItem], seed: int, val_fraction: float, test_fraction: float) -> list[str]:
    """A plain per-class random split that ignores groups: the baseline leakage is measured on."""
    rng = random.Random(seed)
    side_of = [""] * len(items)
    by_class: dict[str, list[int]] = {}
    for index, item in enumerate(items):
        by_class.setdefault(item.label, []).append(index)
    for label in sorted(by_class):
        indices = by_class[label]
        rng.shuffle(indices)
        n_test = round(test_fraction * len(indices))
        n_val = round(val_fraction * len(indices))
        for position, index in enumerate(indices):
            side_of[index] = "test" if position < n_test else "val" if position < n_test + n_val else "train"
    return side_of


def _leaked(components: list[list[int]], side_of: list[str], side: str) -> int:
    """Items on `side` whose component also has a member in train."""
    leaked = 0
    for component in components:
        sides = [side_of[i] for i in component]
        if "train" in sides:
            leaked += sides.count(side)
    return leaked


def make_split(
    dataset: Dataset,
    seed: int = 0,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    groups: Iterable[Iterable[Path]] | None = None,
) -> Split:
    """Split `dataset` into train/val/test: deterministic for a seed, stratified by class, and
    grouped: a capture session and every set of paths in `groups` (duplicates,
    near-duplicates) land on one side only. Leakage stats compare with a naive random split."""
    _check_fractions(val_fraction, test_fraction)
    items = sorted(dataset.items, key=lambda item: item.path)
    components = item_components(items, groups)
    names = [dataset.relative(item) for item in items]
    side_of = _assign_components(items, components, names, seed, val_fraction, test_fraction)
    naive = _naive_sides(items, seed, val_fraction, test_fraction)
    leakage = LeakageStats(
        components=len(components),
        largest_component=max((len(c) for c in components), default=0),
        leaked_val=_leaked(components, side_of, "val"),
        leaked_test=_leaked(components, side_of, "test"),
        naive_leaked_val=_leaked(components, naive, "val"),
        naive_leaked_test=_leaked(components, naive, "test"),
        naive_test_size=naive.count("test"),
    )
    sides = {name: [item for item, side in zip(items, side_of) if side == name] for name in SPLIT_NAMES}
    dominant = _dominant_sets(items, components, side_of)
    return Split(
        root=dataset.root,
        classes=list(dataset.classes),
        train=sides["train"],
        val=sides["val"],
        test=sides["test"],
        seed=seed,
        val_fraction=val_fraction,
        test_fraction=test_fraction,
        leakage=leakage,
        dominant_sets=dominant,
    )


def _dominant_sets(items: list[ImageItem], components: list[list[int]], side_of: list[str]) -> list[DominantSet]:
    """The held-out sides of a class whose largest component holds more than half of the
    side's images of the class and at least MIN_DOMINANT_SET of them, sorted by side and class."""
    images = Counter((side_of[i], item.label) for i, item in enumerate(items) if side_of[i] != "train")
    largest: dict[tuple[str, str], int] = {}
    for component in components:
        key = (side_of[component[0]], _majority_label(items, component))
        if key[0] != "train":
            largest[key] = max(largest.get(key, 0), len(component))
    return [
        DominantSet(side, label, size, images[side, label])
        for (side, label), size in sorted(largest.items())
        if size >= MIN_DOMINANT_SET and 2 * size > images[side, label]
    ]
