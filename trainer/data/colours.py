"""Which colours each part was captured in: the audit's chart and findings, and the part colours
a bundle carries for the sorter.

A model reads colour as readily as shape. Where one colour belongs to one part in the captures,
or a part was captured in one colour only, a brick of another colour is where it fails:
turntable-10's only green bricks are 1x4s, and the split that holds them out misreads 39 of
its 125 test 1x4s (docs/training.md, Known issues). No split of the same captures shows
that, so the audit names the colours, as the sorter names them (device.vision.colour); the name
is cached with each photo's other facts (trainer.data.analysis).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from device.vision.colour import SWATCHES
from trainer.data.analysis import analyse_images
from trainer.data.dataset import ImageItem


@dataclass(frozen=True)
class ColourConfig:
    """When the audit says a colour is one part's, or a part is one colour."""

    owned_share: float = 0.9  # a colour is one part's when this share of its photos are that part's
    one_colour_share: float = 0.9  # a part was captured in one colour when this share of its photos are
    min_photos: int = 20  # a colour (or a part) with fewer named photos is not judged

    def __post_init__(self) -> None:
        for name in ("owned_share", "one_colour_share"):
            if not 0.5 < getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in (0.5, 1], got {getattr(self, name)}")
        if self.min_photos < 1:
            raise ValueError(f"min_photos must be >= 1, got {self.min_photos}")


def part_colours(items: Sequence[ImageItem], cache_dir: Path | None) -> dict[str, dict[str, int]]:
    """Part -> colour name -> how many of the photos `items` show the part in that colour, for a
    bundle's `part_colours` (from the crop facts cached under `cache_dir`, computed where not)."""
    facts = analyse_images([item.path for item in items], cache_dir=cache_dir, progress=False)
    counts: dict[str, Counter] = {}
    for item, fact in zip(items, facts):
        if fact.colour is not None:
            counts.setdefault(item.label, Counter())[fact.colour] += 1
    return {label: dict(sorted(counts[label].items())) for label in sorted(counts)}


def colour_summary(named: Sequence[tuple[str, str]], classes: Sequence[str], config: ColourConfig) -> dict[str, Any]:
    """JSON-ready: photos per class and colour name, the colours that (almost) only one part
    has, and the parts captured in (almost) one colour. `named` holds a (label, colour name)
    pair for each photo whose brick was named."""
    per_class = {name: Counter() for name in classes}
    for label, name in named:
        per_class[label][name] += 1
    totals = Counter(name for _, name in named)
    owned = []
    for name, total in totals.most_common():
        owner = max(classes, key=lambda label: per_class[label][name])
        share = per_class[owner][name] / total
        if total >= config.min_photos and len(classes) > 1 and share >= config.owned_share:
            owned.append({"colour": name, "class": owner, "photos": total, "share": round(share, 3)})
    one_colour = []
    for label in classes:
        photos = sum(per_class[label].values())
        if photos < config.min_photos:
            continue
        name, count = per_class[label].most_common(1)[0]
        if count / photos >= config.one_colour_share:
            one_colour.append({"class": label, "colour": name, "photos": photos, "share": round(count / photos, 3)})
    order = list(SWATCHES)
    return {
        "note": "each brick's colour named from the pixels of its box unlike the table, white-balanced on the table; coarse",
        "per_class": {label: {n: per_class[label][n] for n in order if per_class[label][n]} for label in classes},
        "owned_by_one_class": owned,
        "one_colour_classes": one_colour,
    }
