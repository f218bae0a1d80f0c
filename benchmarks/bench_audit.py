"""Time `bricksort audit`'s engine on real datasets, cold and warm cache, and print its findings
(duplicates, conflicts, leakage, the colours a part owns or is captured in alone); also time the
near-duplicate pair search on random descriptors.

    python benchmarks/bench_audit.py [DATA ...]   (default: ../shared turntable-10 and redparts-8/photos)
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from trainer.data.audit import AuditConfig, run_audit
from trainer.data.duplicates import similar_pairs

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
DEFAULT_DATA = [SHARED / "datasets" / "turntable-10", SHARED / "datasets" / "redparts-8" / "photos"]


def bench_dataset(data: Path) -> None:
    with tempfile.TemporaryDirectory() as cache:
        timings = []
        for run in ("cold", "warm"):
            start = time.perf_counter()
            result = run_audit(data, AuditConfig(cache_dir=Path(cache)), progress=False)
            timings.append(f"{run} {time.perf_counter() - start:.1f} s")
    s = result.summary
    leak = s["split_leakage"]
    print(f"{data}: {s['images']} images, {len(s['classes'])} classes; audit {', '.join(timings)}")
    print(f"  unreadable {sum(v['count'] for v in s['unreadable'].values())}, imbalance {s['imbalance_ratio']:.2f}")
    print(f"  exact duplicates: {s['exact_duplicates']['groups']} groups, {s['exact_duplicates']['redundant_copies']} redundant copies")
    near = s["near_duplicates"]
    print(f"  near-duplicates: {near['groups']} groups holding {near['images_in_groups']} images (largest {near['largest_group']}), "
          f"{near['cross_class_lookalike_pairs']} cross-class look-alike pairs")
    print(f"  label conflicts: {s['label_conflicts']['count']}")
    colours = s["colours"]
    owned = ", ".join(f"{o['colour']} {o['class']} ({round(100 * o['share'])}% of {o['photos']})" for o in colours["owned_by_one_class"])
    alone = ", ".join(f"{o['class']} {o['colour']}" for o in colours["one_colour_classes"])
    print(f"  colours one part owns: {owned or 'none'}; parts in one colour: {alone or 'none'}")
    print(f"  naive split leaks {leak['naive_leaked_test']}/{leak['naive_test_size']} test and {leak['naive_leaked_val']} val images; "
          f"grouped split {leak['leaked_test']}/{leak['leaked_val']}")


def bench_pair_search(count: int = 5000, dims: int = 768) -> None:
    vectors = np.random.default_rng(0).normal(size=(count, dims)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    start = time.perf_counter()
    similar_pairs(vectors, 0.94)
    print(f"near-duplicate pair search, {count} descriptors of {dims} dims: {time.perf_counter() - start:.2f} s")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", nargs="*", type=Path, help="dataset folders (default: ../shared's turntable-10 and redparts-8/photos)")
    args = parser.parse_args(argv)
    bench_pair_search()
    datasets = args.data or [d for d in DEFAULT_DATA if d.is_dir()]
    if not datasets:
        print(f"no datasets given and none under {SHARED}", file=sys.stderr)
        return 1
    for data in datasets:
        bench_dataset(data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
