"""`bricksort audit DATA`: run the audit, write the report, print the headline and conflicts."""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from trainer.data.audit import AuditConfig, run_audit
from trainer.data.audit_report import one_colour_parts, write_audit

EXIT_CONFLICTS = 1  # also: a class with no readable image


def default_cache_dir() -> Path:
    """Where crop descriptors are cached unless --cache says otherwise."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "bricksort" / "crops"


def audit_command(args: argparse.Namespace) -> int:
    """Handler of `bricksort audit`; returns 1 when an image is filed under two labels."""
    data = Path(args.data)
    out = Path(args.out) if args.out else Path("runs") / f"audit-{data.resolve().name}"
    cache = None if args.no_cache else Path(args.cache) if args.cache else default_cache_dir()
    config = AuditConfig(tiny_side=args.tiny_side, cache_dir=cache, workers=args.workers)
    result = run_audit(data, config, progress=not args.quiet)
    report = write_audit(result, out, Path(args.json) if args.json else None)
    s = result.summary
    unreadable = sum(v["count"] for v in s["unreadable"].values())
    print(f"{s['images']} images in {len(s['classes'])} classes ({s['layout']}), imbalance ratio {s['imbalance_ratio']:.2f}"
          if s["imbalance_ratio"] else f"{s['images']} images in {len(s['classes'])} classes ({s['layout']})")
    problems = ", ".join(f"{k} {v['count']}" for k, v in s["unreadable"].items() if v["count"]) or "none"
    converted = ", ".join(f"{k} {v['count']}" for k, v in s["converted"].items()) or "none"
    print(f"unreadable: {unreadable} ({problems}); converted: {converted}; tiny: {s['tiny']['count']}")
    if s["missing_files"]["count"]:
        print(f"missing: {s['missing_files']['count']} listed or linked image(s) not there, e.g. {s['missing_files']['examples'][0]}")
    boxes = s["brick_boxes"]
    print(f"brick boxes: none found in {boxes['not_found']['count']}; off their part's usual size: "
          f"{boxes['off_size']['smaller']} smaller, {boxes['off_size']['larger']} larger (brick_boxes.png shows them)")
    exact, near = s["exact_duplicates"], s["near_duplicates"]
    print(f"exact duplicates: {exact['groups']} groups ({exact['redundant_copies']} redundant copies); "
          f"near-duplicates: {near['groups']} groups holding {near['images_in_groups']} images")
    for owned in s["colours"]["owned_by_one_class"]:
        print(f"colour: {owned['colour']} is almost only {owned['class']}'s ({round(100 * owned['share'])}% of {owned['photos']} photos): "
              "a model may read it as that part; capture other parts in it")
    for colour, parts in one_colour_parts(s["colours"]).items():
        print(f"colour: {', '.join(parts)} {'was' if len(parts) == 1 else 'were'} captured (almost) only in {colour}: "
              "capture in other colours too")
    leak = s["split_leakage"]
    print(f"a naive split would leak {leak['naive_leaked_test']}/{leak['naive_test_size']} test images; the grouped split leaks {leak['leaked_test']}")
    for lump in leak["held_out_mostly_one_set"]:
        print(f"  note: {lump['set_images']} of {lump['class']}'s {lump['side_images']} {lump['side']} images in that split are one duplicate set")
    print(f"report: {report}")
    code = 0
    if s["classes_without_readable_images"]:
        print(f"NO READABLE IMAGE in class(es) {', '.join(s['classes_without_readable_images'])}: training would refuse this data")
        code = EXIT_CONFLICTS
    conflicts = s["label_conflicts"]["pairs"]
    if conflicts:
        print(f"LABEL CONFLICTS: {len(conflicts)} image(s) filed under two labels:")
        for c in conflicts:
            print(f"  {c['first']} ({c['first_label']}) vs {c['second']} ({c['second_label']}): {c['kind']}, frame RMS {c['frame_rms']}")
        code = EXIT_CONFLICTS
    return code
