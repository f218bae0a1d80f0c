"""The duplicate link sets a leak-free split needs, cached per dataset content.

Finding exact and near-duplicates means loading every image's crop descriptor and comparing
them all (about 8 s for turntable-10 even with the descriptors cached). The result depends
only on the files' names and bytes and on the crop and duplicate settings, so a second run
on the same data reads it back from one small JSON file.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path

import numpy as np

from trainer.data.analysis import analyse_images
from trainer.data.crops import CropConfig
from trainer.data.dataset import Dataset, item_sha256s
from trainer.data.duplicates import DuplicateConfig, find_duplicates
from trainer.data.temp_files import temp_beside

LINK_SETS_VERSION = 1  # bump when find_duplicates changes what it links


def link_sets_key(dataset: Dataset, sha256s: list[str], crop: CropConfig, duplicates: DuplicateConfig) -> str:
    """Hex key of everything the link sets depend on: file names (which carry the labels),
    file contents, crop and duplicate settings."""
    digest = hashlib.sha256(f"v{LINK_SETS_VERSION}|{crop.cache_tag()}|{json.dumps(asdict(duplicates), sort_keys=True)}".encode())
    for item, sha256 in zip(dataset.items, sha256s):
        digest.update(f"\n{dataset.relative(item)}\t{sha256}".encode())
    return digest.hexdigest()


def duplicate_link_sets(
    dataset: Dataset,
    cache_dir: Path,
    crop: CropConfig = CropConfig(),
    duplicates: DuplicateConfig = DuplicateConfig(),
) -> list[list[Path]]:
    """Path sets (exact and near-duplicates) that must stay on one side of a split; crop
    descriptors are cached under `cache_dir` and the answer beside them in `link-sets/`."""
    sha256s = item_sha256s(dataset.items)
    stored = cache_dir / "link-sets" / f"{link_sets_key(dataset, sha256s, crop, duplicates)}.json"
    try:
        return [[dataset.root / rel for rel in group] for group in json.loads(stored.read_text(encoding="utf-8"))]
    except (OSError, ValueError, TypeError):
        pass  # not computed yet, or damaged: compute
    facts = analyse_images([item.path for item in dataset.items], crop, cache_dir=cache_dir)
    readable = [i for i, fact in enumerate(facts) if fact.problem is None]
    findings = find_duplicates(
        [dataset.items[i] for i in readable],
        [facts[i].sha256 for i in readable],
        np.stack([facts[i].descriptor for i in readable]),
        np.stack([facts[i].thumbnail for i in readable]),
        duplicates,
    )
    groups = findings.link_sets()
    stored.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_beside(stored)
    tmp.write_text(json.dumps([[dataset.relative_path(path) for path in group] for group in groups]), encoding="utf-8")
    os.replace(tmp, stored)  # atomic: a concurrent run never reads half a file
    return groups
