"""The bins file: which part (or group of parts) goes to which chute position, and the reject bin.

    reject_bin = 0              # chute position for bricks the model is unsure of
    unmapped = "reject"         # parts the model knows but no bin lists: "reject" or a bin index

    [[bin]]
    index = 1
    name = "2xN bricks"         # optional, for the status line and the journal summary
    parts = ["3001", "3003", "3004"]

Every field is checked on load; errors name the file and the field.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Sequence

from device.capture.manifest import validate_id


class BinsConfigError(ValueError):
    """A bins file that is missing a field, has a field of the wrong type, or contradicts itself."""


@dataclass(frozen=True)
class BinSpec:
    """One output bin: its chute position, a display name and the parts it takes."""

    index: int
    name: str
    parts: tuple[str, ...]


@dataclass(frozen=True)
class BinsConfig:
    """Part -> bin mapping with one reject bin. Build it with `load_bins_config` or `bins_config_from_dict`."""

    reject_bin: int
    bins: tuple[BinSpec, ...]
    unmapped_bin: int  # where parts that no bin lists go (the reject bin unless the file says otherwise)

    def bin_for(self, part: str | None) -> int:
        """Chute position for `part`; None (a rejected brick) goes to the reject bin."""
        if part is None:
            return self.reject_bin
        for spec in self.bins:
            if part in spec.parts:
                return spec.index
        return self.unmapped_bin

    def choose_bin(self, fused: Sequence[float], labels: Sequence[str], reject_threshold: float) -> tuple[int, float]:
        """(chute position, its probability) for a brick whose fused part probabilities are `fused`.

        Parts that share a bin pool their probability, so a model torn between two parts of one
        bin (3001 or 3003, both "2xN bricks") is sure of the bin; the brick is rejected only
        when the most probable bin holds less than `reject_threshold`."""
        if len(fused) != len(labels):
            raise ValueError(f"{len(fused)} probabilities for {len(labels)} labels")
        mass: dict[int, float] = {}
        for label, probability in zip(labels, fused):
            index = self.bin_for(label)
            mass[index] = mass.get(index, 0.0) + float(probability)
        best = max(mass, key=mass.__getitem__)
        return (best if mass[best] >= reject_threshold else self.reject_bin), mass[best]

    def bin_name(self, index: int) -> str:
        """Display name of chute position `index`."""
        if index == self.reject_bin:
            return "reject"
        for spec in self.bins:
            if spec.index == index:
                return spec.name
        return f"bin {index}"

    @property
    def indices(self) -> list[int]:
        """Every chute position this file uses, reject bin included, sorted."""
        return sorted({self.reject_bin, self.unmapped_bin, *(spec.index for spec in self.bins)})

    def check_positions(self, positions: int) -> None:
        """Raise BinsConfigError unless every bin index fits a chute with `positions` positions (0-based)."""
        if positions < 1:
            raise BinsConfigError(f"the rig has {positions} chute positions; it needs at least 1")
        too_high = [i for i in self.indices if i >= positions]
        if too_high:
            raise BinsConfigError(
                f"bin index {too_high[0]} does not exist: the rig's chute has {positions} positions (0..{positions - 1})"
            )

    def unknown_parts(self, labels: list[str]) -> list[str]:
        """Parts the bins file lists that the model cannot recognise (a typo, or a bundle for other parts)."""
        known = set(labels)
        return sorted({part for spec in self.bins for part in spec.parts if part not in known})

    def unmapped_labels(self, labels: list[str]) -> list[str]:
        """Parts the model recognises that no bin lists (they go to `unmapped_bin`)."""
        listed = {part for spec in self.bins for part in spec.parts}
        return [label for label in labels if label not in listed]


def _int_field(value: Any, field: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BinsConfigError(f"{where}: {field} must be an integer, got {value!r}")
    if value < 0:
        raise BinsConfigError(f"{where}: {field} must be >= 0, got {value}")
    return value


def _bin_spec(raw: Any, position: int, where: str) -> BinSpec:
    label = f"bin[{position}]"
    if not isinstance(raw, dict):
        raise BinsConfigError(f"{where}: {label} must be a table with index and parts")
    unknown = set(raw) - {"index", "name", "parts"}
    if unknown:
        raise BinsConfigError(f"{where}: {label} has unknown field(s) {sorted(unknown)}")
    if "index" not in raw:
        raise BinsConfigError(f"{where}: {label}.index is missing")
    index = _int_field(raw["index"], f"{label}.index", where)
    parts = raw.get("parts")
    if not isinstance(parts, list) or not parts:
        raise BinsConfigError(f"{where}: {label}.parts must be a non-empty list of part ids")
    for part in parts:
        if not isinstance(part, str):
            raise BinsConfigError(f"{where}: {label}.parts: part ids must be strings, got {part!r}")
        try:
            validate_id(part, "part id")
        except ValueError as exc:
            raise BinsConfigError(f"{where}: {label}.parts: {exc}") from None
    name = raw.get("name", f"bin {index}")
    if not isinstance(name, str) or not name.strip():
        raise BinsConfigError(f"{where}: {label}.name must be a non-empty string")
    return BinSpec(index=index, name=name.strip(), parts=tuple(parts))


def bins_config_from_dict(raw: dict[str, Any], where: str = "bins config") -> BinsConfig:
    """Validate a parsed bins file; `where` names it in error messages."""
    unknown = set(raw) - {"reject_bin", "unmapped", "bin"}
    if unknown:
        raise BinsConfigError(f"{where}: unknown field(s) {sorted(unknown)} (expected reject_bin, unmapped, [[bin]])")
    if "reject_bin" not in raw:
        raise BinsConfigError(f"{where}: reject_bin is missing")
    reject_bin = _int_field(raw["reject_bin"], "reject_bin", where)
    raw_bins = raw.get("bin")
    if not isinstance(raw_bins, list) or not raw_bins:
        raise BinsConfigError(f"{where}: at least one [[bin]] table is needed")
    bins = tuple(_bin_spec(item, i, where) for i, item in enumerate(raw_bins))
    owner: dict[str, int] = {}
    seen: set[int] = set()
    for spec in bins:
        if spec.index == reject_bin:
            raise BinsConfigError(f"{where}: bin index {spec.index} is also the reject_bin")
        if spec.index in seen:
            raise BinsConfigError(f"{where}: bin index {spec.index} is listed twice")
        seen.add(spec.index)
        for part in spec.parts:
            if part in owner:
                raise BinsConfigError(f"{where}: part {part!r} is in bin {owner[part]} and bin {spec.index}")
            owner[part] = spec.index
    unmapped = raw.get("unmapped", "reject")
    if unmapped == "reject":
        unmapped_bin = reject_bin
    elif isinstance(unmapped, int) and not isinstance(unmapped, bool):
        unmapped_bin = _int_field(unmapped, "unmapped", where)
    else:
        raise BinsConfigError(f"{where}: unmapped must be \"reject\" or a bin index, got {unmapped!r}")
    return BinsConfig(reject_bin=reject_bin, bins=bins, unmapped_bin=unmapped_bin)


def example_bins_path() -> Path:
    """Path of the example bins file shipped with the package (the turntable-10 parts and plates)."""
    return Path(str(resources.files("device") / "examples" / "bins.toml"))


def load_bins_config(path: Path | str, chute_positions: int | None = None) -> BinsConfig:
    """Read and validate a bins TOML file; with `chute_positions`, also check it against the rig."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(f"bins file {path} does not exist") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BinsConfigError(f"{path}: not valid TOML: {exc}") from None
    config = bins_config_from_dict(raw, where=str(path))
    if chute_positions is not None:
        try:
            config.check_positions(chute_positions)
        except BinsConfigError as exc:
            raise BinsConfigError(f"{path}: {exc}") from None
    return config
