"""The model bundle: the folder the trainer exports and the Pi loads.

    bundle/
      model.tflite            the model the device runs (int8 unless exported float-only)
      model_float32.tflite    optional float reference model
      labels.json             {"<part id>": <class index>, ...}
      metadata.json           schema version, input size, preprocessing, threshold, metrics...

Writing and reading live together here so the two can never disagree.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
LABELS_FILE = "labels.json"
METADATA_FILE = "metadata.json"


class BundleError(ValueError):
    """A model bundle that is missing, malformed, or that this version cannot use."""


@dataclass(frozen=True)
class BundleMetadata:
    """What a device needs to know to run a model exactly as it was trained."""

    input_height: int
    input_width: int
    backbone: str
    alpha: float
    quantization: str  # "int8" or "float32": the quantisation of `model_file`
    reject_threshold: float  # fused top-1 probability below which a brick is rejected
    crop_margin: float
    preprocessing_version: int
    models: dict[str, str]  # quantisation -> file name inside the bundle
    channel_order: str = "RGB"
    dataset_fingerprint: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    # part -> colour name (device.vision.colour) -> training photos of the part in it. The
    # sorter rejects a brick whose part was never photographed in its colour; empty: no check.
    part_colours: dict[str, dict[str, int]] = field(default_factory=dict)
    created: str = ""
    schema_version: int = SCHEMA_VERSION

    @property
    def input_hw(self) -> tuple[int, int]:
        """Model input size as (height, width)."""
        return (self.input_height, self.input_width)

    @property
    def model_file(self) -> str:
        """File name of the model the device runs by default."""
        return self.models[self.quantization]

    def validate(self) -> None:
        """Raise BundleError naming the first field that is out of range."""
        if self.schema_version != SCHEMA_VERSION:
            raise BundleError(
                f"bundle schema_version {self.schema_version} is not supported (this bricksort reads {SCHEMA_VERSION})"
            )
        if self.input_height <= 0 or self.input_width <= 0:
            raise BundleError(f"input_height/input_width must be positive, got {self.input_hw}")
        if self.channel_order != "RGB":
            raise BundleError(f"channel_order must be 'RGB', got {self.channel_order!r}")
        if not 0.0 <= self.reject_threshold <= 1.0:
            raise BundleError(f"reject_threshold must be in [0, 1], got {self.reject_threshold}")
        if self.quantization not in self.models:
            raise BundleError(f"quantization {self.quantization!r} has no entry in models {sorted(self.models)}")


@dataclass(frozen=True)
class Bundle:
    """A loaded, validated bundle."""

    path: Path
    labels: list[str]  # index -> part id
    metadata: BundleMetadata

    def model_path(self, quantization: str | None = None) -> Path:
        """Path of the model file for `quantization` (default: the bundle's own)."""
        q = quantization or self.metadata.quantization
        if q not in self.metadata.models:
            raise BundleError(f"bundle {self.path} has no {q} model (it has {sorted(self.metadata.models)})")
        return self.path / self.metadata.models[q]


def _fsync_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_bundle(path: Path, models: dict[str, bytes], labels: list[str], metadata: BundleMetadata) -> Bundle:
    """Write a bundle folder: `models` maps file name -> TFLite bytes. Returns it loaded back."""
    metadata.validate()
    missing = set(metadata.models.values()) - set(models)
    if missing:
        raise BundleError(f"metadata names model files that were not given: {sorted(missing)}")
    if len(set(labels)) != len(labels):
        raise BundleError("labels must be unique")
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    for name, data in models.items():
        _fsync_write(path / name, data)
    _fsync_write(path / LABELS_FILE, json.dumps({label: i for i, label in enumerate(labels)}, indent=2).encode())
    _fsync_write(path / METADATA_FILE, json.dumps(asdict(metadata), indent=2, sort_keys=True).encode())
    return load_bundle(path)


def _read_json(path: Path) -> Any:
    if not path.is_file():
        raise BundleError(f"{path} is missing: not a bricksort model bundle?")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise BundleError(f"{path} is not valid JSON: {exc}") from exc


def _labels_from_json(raw: Any, source: Path) -> list[str]:
    if not isinstance(raw, dict) or not raw:
        raise BundleError(f"{source} must map part id -> class index")
    indices = sorted(raw.values())
    if indices != list(range(len(raw))):
        raise BundleError(f"{source}: class indices must be 0..{len(raw) - 1} without gaps, got {indices}")
    return [label for label, _ in sorted(raw.items(), key=lambda kv: kv[1])]


def preprocessing_warning(metadata: BundleMetadata) -> str | None:
    """A warning when the bundle was trained on crops taken by another version of the
    preprocessing than this device code runs (its accuracy may have drifted), else None."""
    from device.vision.crop import PREPROCESSING_VERSION

    if metadata.preprocessing_version == PREPROCESSING_VERSION:
        return None
    return (
        f"warning: the bundle was trained with preprocessing version {metadata.preprocessing_version}, this device "
        f"crops with version {PREPROCESSING_VERSION}: re-export it from its run (`bricksort export`) to be sure of its accuracy"
    )


def load_bundle(path: Path | str) -> Bundle:
    """Load and validate a bundle folder; raises BundleError with the reason when unusable."""
    path = Path(path)
    if path.is_file():
        raise BundleError(f"{path} is a file: give the model bundle's folder (the one holding {METADATA_FILE})")
    if not path.is_dir():
        raise BundleError(f"model bundle folder {path} does not exist")
    raw_meta = _read_json(path / METADATA_FILE)
    if not isinstance(raw_meta, dict):
        raise BundleError(f"{path / METADATA_FILE} must hold a JSON object")
    if raw_meta.get("schema_version") != SCHEMA_VERSION:
        raise BundleError(
            f"bundle schema_version {raw_meta.get('schema_version')!r} is not supported "
            f"(this bricksort reads {SCHEMA_VERSION})"
        )
    known = set(BundleMetadata.__dataclass_fields__)
    unknown = set(raw_meta) - known
    if unknown:
        raise BundleError(f"{path / METADATA_FILE} has unknown fields {sorted(unknown)}")
    try:
        metadata = BundleMetadata(**raw_meta)
    except TypeError as exc:
        raise BundleError(f"{path / METADATA_FILE}: {exc}") from exc
    metadata.validate()
    labels = _labels_from_json(_read_json(path / LABELS_FILE), path / LABELS_FILE)
    strangers = sorted(set(metadata.part_colours) - set(labels))
    if strangers:
        raise BundleError(f"{path / METADATA_FILE}: part_colours names parts that are not in {LABELS_FILE}: {strangers}")
    for name in metadata.models.values():
        if not (path / name).is_file():
            raise BundleError(f"bundle {path} lists model file {name} but it is missing")
    return Bundle(path=path, labels=labels, metadata=metadata)
