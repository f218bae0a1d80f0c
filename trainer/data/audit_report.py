"""Writing an audit: JSON summary, Markdown report, and the PNGs it shows."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from device.vision.colour import SWATCHES
from device.vision.crop import crop_for_model
from trainer.data.audit import AuditResult
from trainer.data.crops import brick_crop
from trainer.data.images import UnreadableImageError, read_image_rgb

SHEET_PAIRS = 12
TILE = 96


def _plot_class_counts(result: AuditResult, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    counts = result.summary["classes"]
    fig, ax = plt.subplots(figsize=(max(4.0, 0.5 * len(counts) + 2), 3.2))
    ax.bar(list(counts), list(counts.values()), color="#4878a8")
    ax.set_ylabel("images")
    ax.set_title(f"class counts (imbalance ratio {result.summary['imbalance_ratio'] or float('nan'):.2f})")
    ax.tick_params(axis="x", rotation=45)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _plot_image_sizes(result: AuditResult, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    sizes = [(f.info.width, f.info.height) for f in result.facts if f.info]
    fig, ax = plt.subplots(figsize=(4.5, 4))
    if sizes:
        unique, counts = np.unique(np.array(sizes), axis=0, return_counts=True)
        ax.scatter(unique[:, 0], unique[:, 1], s=20 + 200 * counts / counts.max(), alpha=0.6)
        for (w, h), n in zip(unique[:12], counts[:12]):
            ax.annotate(str(n), (w, h), fontsize=7)
    ax.axvline(result.summary["tiny"]["min_side"], color="r", lw=0.8, ls="--")
    ax.axhline(result.summary["tiny"]["min_side"], color="r", lw=0.8, ls="--")
    ax.set_xlabel("width (px)")
    ax.set_ylabel("height (px)")
    ax.set_title("image sizes (marker area ~ count)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _plot_colours(result: AuditResult, path: Path) -> None:
    """Each part's photos by brick colour: one bar a part, a segment a colour in its swatch."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    per_class = result.summary["colours"]["per_class"]
    labels = list(per_class)
    fig, ax = plt.subplots(figsize=(7.5, max(2.5, 0.32 * len(labels) + 1.5)))
    left = np.zeros(len(labels))
    for name, rgb in SWATCHES.items():
        counts = np.array([per_class[label].get(name, 0) for label in labels], float)
        if counts.any():
            ax.barh(labels, counts, left=left, color=np.array(rgb) / 255, edgecolor="#777777", linewidth=0.4, label=name)
            left += counts
    ax.invert_yaxis()  # the first part on top, as in the JSON
    ax.set_xlabel("photos")
    ax.set_title("brick colour per part (coarse names; see report.md)")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=7, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def one_colour_parts(colours: dict) -> dict[str, list[str]]:
    """The audit summary's parts captured in one colour, grouped by that colour: a set whose
    parts all come in red reads as one finding, not one a part."""
    grouped: dict[str, list[str]] = {}
    for single in colours["one_colour_classes"]:
        grouped.setdefault(single["colour"], []).append(single["class"])
    return grouped


def _tile(path: Path, result: AuditResult, caption: str) -> np.ndarray:
    try:
        crop = brick_crop(read_image_rgb(path), result.config.crop)
        tile = cv2.resize(crop, (TILE, TILE), interpolation=cv2.INTER_AREA)
    except UnreadableImageError:
        tile = np.zeros((TILE, TILE, 3), np.uint8)
    return _captioned(tile, caption)


def _captioned(tile: np.ndarray, caption: str) -> np.ndarray:
    """`tile` (TILE pixels wide) with `caption` on a black bar along its top."""
    tile = np.ascontiguousarray(tile)
    cv2.rectangle(tile, (0, 0), (TILE, 12), (0, 0, 0), -1)
    cv2.putText(tile, caption[:18], (2, 9), cv2.FONT_HERSHEY_SIMPLEX, 0.3, (255, 255, 0), 1, cv2.LINE_AA)
    return tile


def _pair_sheet(result: AuditResult, pairs: list[tuple[Path, str, Path, str, float]], path: Path) -> None:
    """Contact sheet: one row per pair, the two brick crops side by side with labels and score."""
    rows = []
    for first, first_label, second, second_label, similarity in pairs:
        left = _tile(first, result, f"{first_label} {similarity:.3f}")
        right = _tile(second, result, f"{second_label} {second.name}")
        rows.append(np.hstack([left, np.full((TILE, 4, 3), 255, np.uint8), right]))
    columns = 3
    while len(rows) % columns:
        rows.append(np.zeros_like(rows[0]))
    grid = [np.hstack(sum(([r, np.full((TILE, 10, 3), 128, np.uint8)] for r in rows[i : i + columns]), [])) for i in range(0, len(rows), columns)]
    sheet = np.vstack(sum(([g, np.full((6, g.shape[1], 3), 128, np.uint8)] for g in grid), []))
    cv2.imwrite(str(path), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))


def _box_sheet(result: AuditResult, path: Path) -> bool:
    """Contact sheet of the photos whose brick box looks wrong (none found, or off its class's
    size), whole frames with the box drawn; False when there are none."""
    labels = {item.path: item.label for item in result.dataset.items}
    flagged = [(fact, f"{labels[fact.path]} no brick") for fact in result.no_brick]
    flagged += [(fact, f"{labels[fact.path]} x{ratio:.2f}") for fact, ratio in result.box_outliers]
    if not flagged:
        return False
    tiles = []
    for fact, caption in flagged[: 4 * SHEET_PAIRS]:
        frame = read_image_rgb(fact.path).copy()  # drawn on; the decoder's array is read-only
        if fact.box is not None:
            thickness = max(1, round(max(frame.shape[:2]) / TILE))
            corner = (fact.box.x + fact.box.w - 1, fact.box.y + fact.box.h - 1)
            cv2.rectangle(frame, (fact.box.x, fact.box.y), corner, (255, 0, 0), thickness)
        tiles.append(_captioned(crop_for_model(frame, None, (TILE, TILE)), caption))  # the whole frame, padded square
    columns = 8
    while len(tiles) % columns:
        tiles.append(np.zeros_like(tiles[0]))
    sheet = np.vstack([np.hstack(tiles[i : i + columns]) for i in range(0, len(tiles), columns)])
    cv2.imwrite(str(path), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    return True


def _example_pairs(result: AuditResult) -> list[tuple[Path, str, Path, str, float]]:
    findings = result.findings
    exact = {item.path for group in findings.exact for item in group.items}
    near = [p for p in findings.crop_pairs if findings.items[p.first].path not in exact or findings.items[p.second].path not in exact]
    near.sort(key=lambda p: p.score)
    # Spread over the similarity range, weakest first: the borderline pairs are the ones to check.
    picks = [near[int(i)] for i in np.linspace(0, len(near) - 1, min(SHEET_PAIRS, len(near)))] if near else []
    items = findings.items
    return [(items[p.first].path, items[p.first].label, items[p.second].path, items[p.second].label, p.score) for p in picks]


def write_audit(result: AuditResult, out_dir: Path, json_path: Path | None = None) -> Path:
    """Write audit.json (or `json_path`), report.md and its PNGs under `out_dir`; returns the report path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = json_path or out_dir / "audit.json"
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(result.summary, indent=1) + "\n", encoding="utf-8")
    _plot_class_counts(result, out_dir / "class_counts.png")
    _plot_image_sizes(result, out_dir / "image_sizes.png")
    _plot_colours(result, out_dir / "colours.png")
    pictures = ["class_counts.png", "image_sizes.png", "colours.png"]
    pairs = _example_pairs(result)
    if pairs:
        _pair_sheet(result, pairs, out_dir / "near_duplicates.png")
        pictures.append("near_duplicates.png")
    if _box_sheet(result, out_dir / "brick_boxes.png"):
        pictures.append("brick_boxes.png")
    conflicts = [(c.first.path, c.first.label, c.second.path, c.second.label, c.rms) for c in result.findings.conflicts]
    if conflicts:
        _pair_sheet(result, conflicts[:SHEET_PAIRS], out_dir / "label_conflicts.png")
        pictures.append("label_conflicts.png")
    report = out_dir / "report.md"
    report.write_text(_markdown(result, pictures), encoding="utf-8")
    return report


def _markdown(result: AuditResult, pictures: list[str]) -> str:
    s = result.summary
    lines = [
        f"# Dataset audit: {s['root']}",
        "",
        f"- layout: {s['layout']}; images: {s['images']} ({s['readable_images']} readable); classes: {len(s['classes'])}",
        f"- imbalance ratio (largest / smallest class): {s['imbalance_ratio']}",
        f"- fingerprint: `{s['fingerprint']}`",
        "",
        "## Problems",
        "",
        "| finding | count | examples |",
        "|---|---|---|",
    ]
    rows = [(f"unreadable: {k}", v) for k, v in s["unreadable"].items()]
    rows += [(f"converted: {k}", v) for k, v in s["converted"].items()]
    rows += [(f"tiny (< {s['tiny']['min_side']} px)", s["tiny"]), ("ignored (not an image name)", s["ignored_files"]),
             ("missing (a link to nothing, or a manifest entry without its file)", s["missing_files"])]
    for name, listing in rows:
        lines.append(f"| {name} | {listing['count']} | {', '.join(listing['examples'][:5])} |")
    exact, near, conflicts = s["exact_duplicates"], s["near_duplicates"], s["label_conflicts"]
    leak = s["split_leakage"]
    lines += [
        "",
        "## Duplicates",
        "",
        f"- exact (same bytes): {exact['groups']} groups, {exact['files']} files, {exact['redundant_copies']} redundant copies, "
        f"{exact['cross_class_groups']} across classes",
        f"- near (brick-crop similarity >= {near['threshold']}): {near['groups']} groups holding {near['images_in_groups']} images, "
        f"largest {near['largest_group']}; {near['cross_class_lookalike_pairs']} look-alike pairs across classes (below the conflict threshold)",
        f"- label conflicts (same bytes, or whole frames within RMS {conflicts['identical_rms']} across classes): **{conflicts['count']}**",
    ]
    lines += [f"  - {c['first']} ({c['first_label']}) vs {c['second']} ({c['second_label']}): {c['kind']}, frame RMS {c['frame_rms']}" for c in conflicts["pairs"][:50]]
    boxes = s["brick_boxes"]
    low, high = boxes["off_size"]["range"]
    lines += [
        "",
        "## Brick boxes",
        "",
        "Training and the sorter crop each photo around the box the device's still-photo finder draws.",
        "",
        f"- no brick found (the whole frame is used): {boxes['not_found']['count']}"
        + (f" ({', '.join(boxes['not_found']['examples'][:5])})" if boxes["not_found"]["count"] else ""),
        f"- box under {low}x / over {high}x its class's median size: {boxes['off_size']['smaller']} / {boxes['off_size']['larger']}"
        " (a piece of a brick, or a brick with its shadow: see brick_boxes.png when there are any)",
    ]
    colours = s["colours"]
    lines += [
        "",
        "## Colours",
        "",
        "A model reads colour as readily as shape: a colour only one part was captured in, or a part captured in one",
        "colour, is where bricks of other colours will be misread. Capture every part in several colours.",
        "Each brick's colour is named from the pixels of its box that differ from the table, white-balanced on the table",
        "around it; the names are coarse (a shaded white face can read as grey or tan). colours.png shows every part's.",
        "",
    ]
    lines += [f"- **{o['colour']}** is almost only {o['class']}'s: {round(100 * o['share'])}% of its {o['photos']} photos"
              for o in colours["owned_by_one_class"]]
    lines += [f"- captured (almost) only in **{colour}**: {', '.join(parts)}" for colour, parts in one_colour_parts(colours).items()]
    if not colours["owned_by_one_class"] and not colours["one_colour_classes"]:
        lines.append("- no colour belongs to one part, and no part comes in one colour only")
    lines += [
        "",
        "## Split leakage",
        "",
        f"A naive random split (seed 0) would put {leak['naive_leaked_test']} of {leak['naive_test_size']} test images and "
        f"{leak['naive_leaked_val']} validation images beside a twin in train; the grouped split puts "
        f"{leak['leaked_test']} and {leak['leaked_val']}.",
        "",
    ]
    lumps = leak["held_out_mostly_one_set"]
    if lumps:
        lines += ["Held-out sides that are mostly one duplicate set (their per-part figures rest on one brick and look):", ""]
        lines += [f"- {lump['class']} {lump['side']}: {lump['set_images']} of {lump['side_images']} images" for lump in lumps]
        lines.append("")
    lines += [
        "## Image sizes",
        "",
        ", ".join(f"{size}: {n}" for size, n in list(s["image_sizes"].items())[:10]),
        "",
    ]
    lines += [f"![{p}]({p})\n" for p in pictures]
    return "\n".join(lines)
