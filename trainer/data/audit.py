"""Dataset audit: unreadable files, converted colour modes, tiny images, class balance, image
sizes, brick boxes that look wrong, the colours each part was captured in, exact and
near-duplicates, label conflicts, and what a naive split would leak."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from trainer.data.analysis import ImageFacts, analyse_images
from trainer.data.colours import ColourConfig, colour_summary
from trainer.data.crops import CropConfig
from trainer.data.dataset import Dataset, dataset_fingerprint, load_dataset
from trainer.data.duplicates import DuplicateConfig, DuplicateFindings, find_duplicates
from trainer.data.split import make_split

EXAMPLES = 20  # paths listed per finding in the JSON; counts are always complete


@dataclass(frozen=True)
class AuditConfig:
    """What the audit flags and how it computes."""

    tiny_side: int = 64  # images with a shorter side are flagged as tiny
    # A brick box whose longer side (relative to the frame) is outside these multiples of its
    # class's median is flagged: on one rig one part's boxes are about one size, so such a box
    # is most likely a piece of the brick, or the brick with its shadow or a neighbour.
    box_size_range: tuple[float, float] = (0.6, 1.6)
    crop: CropConfig = field(default_factory=CropConfig)
    duplicates: DuplicateConfig = field(default_factory=DuplicateConfig)
    colours: ColourConfig = field(default_factory=ColourConfig)
    cache_dir: Path | None = None
    workers: int | None = None

    def __post_init__(self) -> None:
        if self.tiny_side < 1:
            raise ValueError(f"tiny_side must be >= 1, got {self.tiny_side}")
        if self.workers is not None and self.workers < 1:
            raise ValueError(f"workers must be >= 1 (or unset: one per core), got {self.workers}")
        low, high = self.box_size_range
        if not 0 < low < 1 < high:
            raise ValueError(f"box_size_range must be (low, high) with 0 < low < 1 < high, got {self.box_size_range}")


@dataclass
class AuditResult:
    """The audited dataset, per-image facts (aligned with `dataset.items`), duplicate findings
    over the readable images, the readable images in which the finder saw no brick, brick
    boxes off their class's usual size (`box_size_outliers`), the JSON-ready summary and the
    settings used."""

    dataset: Dataset
    facts: list[ImageFacts]
    findings: DuplicateFindings
    no_brick: list[ImageFacts]
    box_outliers: list[tuple[ImageFacts, float]]
    summary: dict[str, Any]
    config: AuditConfig

    @property
    def has_conflicts(self) -> bool:
        """True when some image is filed under two labels."""
        return bool(self.findings.conflicts)


def run_audit(root: Path | str, config: AuditConfig = AuditConfig(), progress: bool = True) -> AuditResult:
    """Audit the dataset at `root` (captures layout or class folders)."""
    dataset = load_dataset(root)
    facts = analyse_images([item.path for item in dataset.items], config.crop, config.cache_dir, config.workers, progress)
    readable = [k for k, fact in enumerate(facts) if fact.problem is None]
    items = [dataset.items[k] for k in readable]
    descriptors = np.stack([facts[k].descriptor for k in readable]) if readable else np.zeros((0, 1), np.float32)
    thumbnails = np.stack([facts[k].thumbnail for k in readable]) if readable else np.zeros((0, 4, 4, 3), np.uint8)
    findings = find_duplicates(items, [facts[k].sha256 for k in readable], descriptors, thumbnails, config.duplicates)
    no_brick = [fact for fact in facts if fact.problem is None and fact.box is None]
    box_outliers = box_size_outliers(dataset, facts, config.box_size_range)
    summary = _summary(dataset, facts, findings, no_brick, box_outliers, config)
    return AuditResult(
        dataset=dataset, facts=facts, findings=findings, no_brick=no_brick, box_outliers=box_outliers, summary=summary, config=config
    )


def _listing(dataset: Dataset, paths: list[Path]) -> dict[str, Any]:
    return {"count": len(paths), "examples": [dataset.relative_path(p) for p in paths[:EXAMPLES]]}


MIN_BOXES_FOR_MEDIAN = 5  # a class with fewer boxes has no size to compare with


def off_class_median(sizes: Sequence[tuple[str, float]], size_range: tuple[float, float]) -> list[tuple[int, float]]:
    """(index, size / its class's median) of every (class, size) in `sizes` outside `size_range`
    times that median, most extreme first. A class with fewer than MIN_BOXES_FOR_MEDIAN sizes
    is left out: it has no usual size."""
    by_class: dict[str, list[int]] = {}
    for index, (label, _) in enumerate(sizes):
        by_class.setdefault(label, []).append(index)
    low, high = size_range
    found = []
    for indices in by_class.values():
        if len(indices) < MIN_BOXES_FOR_MEDIAN:
            continue
        median = float(np.median([sizes[i][1] for i in indices]))
        found += [(i, sizes[i][1] / median) for i in indices if not low <= sizes[i][1] / median <= high]
    return sorted(found, key=lambda pair: -abs(np.log(pair[1])))


def box_size_outliers(dataset: Dataset, facts: list[ImageFacts], size_range: tuple[float, float]) -> list[tuple[ImageFacts, float]]:
    """(facts, box side / class median) of every readable image whose brick box is off its
    class's usual size (see `AuditConfig.box_size_range`), most extreme first. The side is the
    box's longer one over the frame's shorter one, so photos of other sizes compare."""
    boxed = [(item.label, fact) for item, fact in zip(dataset.items, facts) if fact.box is not None and fact.info is not None]
    sizes = [(label, max(fact.box.w, fact.box.h) / min(fact.info.width, fact.info.height)) for label, fact in boxed]
    return [(boxed[index][1], ratio) for index, ratio in off_class_median(sizes, size_range)]


def _colours(dataset: Dataset, facts: list[ImageFacts], config: ColourConfig) -> dict[str, Any]:
    named = [(item.label, fact.colour) for item, fact in zip(dataset.items, facts) if fact.colour is not None]
    return colour_summary(named, dataset.classes, config)


def _brick_boxes(dataset: Dataset, no_brick: list[ImageFacts], off: list[tuple[ImageFacts, float]], config: AuditConfig) -> dict[str, Any]:
    low, high = config.box_size_range
    return {
        "note": "the device's still-photo finder on each photo; training and the sorter crop what it boxes",
        "not_found": _listing(dataset, [fact.path for fact in no_brick]),
        "off_size": {
            "range": [low, high],
            "smaller": sum(ratio < low for _, ratio in off),
            "larger": sum(ratio > high for _, ratio in off),
            "examples": [{"path": dataset.relative_path(fact.path), "ratio_to_class_median": round(ratio, 2)} for fact, ratio in off[:EXAMPLES]],
        },
    }


def _summary(
    dataset: Dataset,
    facts: list[ImageFacts],
    findings: DuplicateFindings,
    no_brick: list[ImageFacts],
    box_outliers: list[tuple[ImageFacts, float]],
    config: AuditConfig,
) -> dict[str, Any]:
    problems: dict[str, list[Path]] = {reason: [] for reason in ("zero-byte", "truncated", "not-an-image", "corrupt")}
    conversions: dict[str, list[Path]] = {}
    sizes: Counter[str] = Counter()
    tiny = []
    for fact in facts:
        if fact.problem:
            problems[fact.problem].append(fact.path)
            continue
        info = fact.info
        sizes[f"{info.width}x{info.height}"] += 1
        if info.conversion:
            conversions.setdefault(info.conversion, []).append(fact.path)
        if min(info.width, info.height) < config.tiny_side:
            tiny.append(fact.path)
    counts = dataset.class_counts()
    readable_counts = Counter(item.label for item, fact in zip(dataset.items, facts) if fact.problem is None)
    smallest = min(readable_counts.get(name, 0) for name in dataset.classes)
    exact, near = findings.exact, findings.near
    split = make_split(dataset, seed=0, groups=findings.link_sets())
    return {
        "root": str(dataset.root),
        "layout": dataset.layout,
        "fingerprint": dataset_fingerprint(dataset, {f.path: f.sha256 for f in facts}),
        "images": len(dataset.items),
        "readable_images": sum(readable_counts.values()),
        "classes": counts,
        "classes_without_readable_images": [name for name in dataset.classes if not readable_counts.get(name)],
        "imbalance_ratio": (max(readable_counts.values()) / smallest) if smallest else None,
        "unreadable": {reason: _listing(dataset, paths) for reason, paths in problems.items()},
        "ignored_files": _listing(dataset, dataset.ignored),
        "missing_files": _listing(dataset, dataset.missing),
        "converted": {kind: _listing(dataset, paths) for kind, paths in sorted(conversions.items())},
        "tiny": {"min_side": config.tiny_side, **_listing(dataset, tiny)},
        "image_sizes": dict(sizes.most_common()),
        "brick_boxes": _brick_boxes(dataset, no_brick, box_outliers, config),
        "colours": _colours(dataset, facts, config.colours),
        "exact_duplicates": {
            "groups": len(exact),
            "files": sum(len(g.items) for g in exact),
            "redundant_copies": sum(len(g.items) - 1 for g in exact),
            "cross_class_groups": sum(g.cross_class for g in exact),
            "examples": [[dataset.relative(i) for i in g.items] for g in exact[:EXAMPLES]],
        },
        "near_duplicates": {
            "threshold": config.duplicates.near_threshold,
            "descriptor": config.crop.cache_tag(),
            "groups": len(near),
            "images_in_groups": sum(len(g.items) for g in near),
            "largest_group": max((len(g.items) for g in near), default=0),
            "similar_crop_pairs": len(findings.crop_pairs),
            "identical_frame_pairs": len(findings.frame_pairs),
            "cross_class_lookalike_pairs": len(findings.lookalikes()),
            "examples": [[dataset.relative(i) for i in g.items] for g in near[:EXAMPLES]],
        },
        "label_conflicts": {
            "identical_rms": config.duplicates.identical_rms,
            "count": len(findings.conflicts),
            "pairs": [
                {
                    "kind": c.kind,
                    "frame_rms": round(c.rms, 3),
                    "first": dataset.relative(c.first),
                    "first_label": c.first.label,
                    "second": dataset.relative(c.second),
                    "second_label": c.second.label,
                }
                for c in findings.conflicts
            ],
        },
        "split_leakage": {
            "note": "test/val images with a twin in train: under a naive random split vs the grouped split (seed 0)",
            **vars(split.leakage),
            "held_out_mostly_one_set": [
                {"side": lump.side, "class": lump.label, "set_images": lump.set_images, "side_images": lump.side_images}
                for lump in split.dominant_sets
            ],
        },
    }
