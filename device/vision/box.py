"""The bounding box type shared by detection, cropping, manifests and the journal."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Box:
    """An axis-aligned pixel box: left `x`, top `y`, width `w`, height `h`."""

    x: int
    y: int
    w: int
    h: int

    def __post_init__(self) -> None:
        if self.w <= 0 or self.h <= 0:
            raise ValueError(f"box must have positive size, got w={self.w} h={self.h}")

    @property
    def center(self) -> tuple[float, float]:
        """Centre as (x, y)."""
        return (self.x + self.w / 2.0, self.y + self.h / 2.0)

    def as_list(self) -> list[int]:
        """[x, y, w, h], the form stored in manifests and journals."""
        return [self.x, self.y, self.w, self.h]

    @classmethod
    def from_list(cls, values: list[int] | tuple[int, ...]) -> "Box":
        """Inverse of `as_list`."""
        x, y, w, h = (int(v) for v in values)
        return cls(x, y, w, h)
