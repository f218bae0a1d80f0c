"""Loading a training dataset: the captures layout or a plain `<class>/*.jpg` folder.

Every item carries a `group`: images of one group are near-duplicates by construction
(one capture session, one brick) and a split must keep them on one side.
"""
from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from device.cameras.folder_camera import IMAGE_SUFFIXES  # what a folder camera replays, a dataset holds
from device.capture.manifest import MANIFEST_NAME, is_captures_root, iter_records, validate_id


class DatasetError(ValueError):
    """The data folder cannot be used as a dataset; the message says why and where."""


@dataclass(frozen=True)
class ImageItem:
    """One labelled image file. `group` is the capture session (captures layout), the
    sub-folder below the class (nested plain folders), or the file itself."""

    path: Path
    label: str
    group: str


@dataclass
class Dataset:
    """Labelled images under `root`; `classes` sorted, `items` sorted by path. `ignored` lists
    files that are not images by name, `missing` images that are not there: links to nothing
    and manifest entries without their file (both kept for the audit to report)."""

    root: Path
    classes: list[str]
    items: list[ImageItem]
    layout: str  # "captures" or "folders"
    ignored: list[Path] = field(default_factory=list)
    missing: list[Path] = field(default_factory=list)

    def relative(self, item: ImageItem) -> str:
        """Path of `item` relative to the dataset root, with forward slashes."""
        return self.relative_path(item.path)

    def relative_path(self, path: Path) -> str:
        """`path` (below the dataset root) relative to it, with forward slashes."""
        return path.relative_to(self.root).as_posix()

    def class_counts(self) -> dict[str, int]:
        """Number of images per class, every class listed."""
        counts = {name: 0 for name in self.classes}
        for item in self.items:
            counts[item.label] += 1
        return counts

    def class_index(self) -> dict[str, int]:
        """Class name -> integer label (position in the sorted class list)."""
        return {name: index for index, name in enumerate(self.classes)}


def _is_image_name(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def _is_hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def _check_class_names(names: dict[str, Path]) -> None:
    """Refuse every unsafe class name at once (name -> where it was found): renaming them is one job."""
    refused = []
    for name, where in names.items():
        try:
            validate_id(name, "class name")
        except ValueError as exc:
            refused.append(f"{where}: {exc}")
    if refused:
        raise DatasetError("; ".join(refused))


def _load_captures(root: Path) -> tuple[list[ImageItem], list[Path], list[Path]]:
    items, missing = [], []
    listed = set()
    records = list(iter_records(root))
    _check_class_names({record.part: root / record.part for record in records})
    for record in records:
        path = root / record.file
        listed.add(path)
        if path.is_file():
            items.append(ImageItem(path=path, label=record.part, group=f"{record.part}/{record.session}"))
        else:
            missing.append(path)
    # Images without a manifest line are leftovers of an interrupted capture: not data.
    unlisted = [
        p for p in sorted(root.glob("*/*/*")) if p.is_file() and p.name != MANIFEST_NAME and p not in listed
    ]
    return items, unlisted, missing


def _load_folders(root: Path) -> tuple[list[ImageItem], list[Path], list[str], list[Path]]:
    items, ignored, classes, missing = [], [], [], []
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    _check_class_names({folder.name: folder for folder in folders})
    for folder in folders:
        label = folder.name
        classes.append(label)
        visible = sorted(p for p in folder.rglob("*") if not _is_hidden(p, root))
        missing += [p for p in visible if p.is_symlink() and not p.exists()]
        for path in (p for p in visible if p.is_file()):
            if not _is_image_name(path):
                ignored.append(path)
                continue
            inner = path.relative_to(folder).parts
            # A sub-folder of a class is taken to be one capture run: its frames stay together.
            group = f"{label}/{inner[0]}" if len(inner) > 1 else path.relative_to(root).as_posix()
            items.append(ImageItem(path=path, label=label, group=group))
    return items, ignored, classes, missing


def load_dataset(root: Path | str, min_classes: int = 2) -> Dataset:
    """Read a captures root (session manifests) or a plain `<class>/*.jpg|jpeg|png` folder.

    Raises DatasetError (a ValueError) for a missing or empty folder, an unsafe class name,
    a class without images, or fewer than `min_classes` classes (a classifier needs two; a
    folder of extra training images may hold one)."""
    root = Path(root).expanduser()
    if not root.exists():
        raise DatasetError(f"data folder {root} does not exist")
    if not root.is_dir():
        raise DatasetError(f"data folder {root} is not a folder")
    root = root.resolve()
    if is_captures_root(root):
        items, ignored, missing = _load_captures(root)
        layout = "captures"
        classes = sorted({item.label for item in items})
    else:
        items, ignored, classes, missing = _load_folders(root)
        layout = "folders"
    if not classes:
        raise DatasetError(
            f"data folder {root} has no class folders: expected <class>/*.jpg (or the captures layout)"
        )
    counts = {name: 0 for name in classes}
    for item in items:
        counts[item.label] += 1
    empty = [name for name, count in counts.items() if count == 0]
    if len(empty) == len(classes):
        raise DatasetError(f"data folder {root} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    if empty:
        raise DatasetError(f"class folder(s) without images in {root}: {', '.join(empty)}")
    if len(classes) < min_classes:
        raise DatasetError(f"data folder {root} has a single class ({classes[0]}): a classifier needs at least two")
    items.sort(key=lambda item: item.path)
    return Dataset(root=root, classes=sorted(classes), items=items, layout=layout, ignored=ignored, missing=missing)


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def item_sha256s(items: list[ImageItem]) -> list[str]:
    """`file_sha256` of every item's file, in order, one thread per core (hashing releases the GIL)."""
    with ThreadPoolExecutor(max(1, os.cpu_count() or 1)) as pool:
        return list(pool.map(lambda item: file_sha256(item.path), items))


def dataset_fingerprint(dataset: Dataset, sha256s: dict[Path, str] | None = None) -> str:
    """Content fingerprint: SHA-256 over every item's relative path, label and content hash.
    Renaming, relabelling or editing any image changes it; copying the folder does not.
    `sha256s` (path -> file hash) saves re-reading files already hashed."""
    sha256s = sha256s or {}
    digest = hashlib.sha256()
    for item in dataset.items:
        content = sha256s.get(item.path) or file_sha256(item.path)
        line = f"{dataset.relative(item)}\t{item.label}\t{content}\n"
        digest.update(line.encode("utf-8"))
    return digest.hexdigest()
