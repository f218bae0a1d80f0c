"""Camera kinds by name, and `make_camera(spec)` turning a short spec string into a camera.

A spec is `kind` or `kind:argument`: `picamera2`, `picamera2:exposure=8000,gain=1.5`,
`opencv:0`, `opencv:clips/table.mp4`, `folder:captures/3001/s1`. Each kind registers a
factory `factory(argument: str, **context) -> Camera`. Keyword context given to
`make_camera` reaches every factory unchanged; factories take what they need and ignore
the rest, so a caller can pass e.g. `world=` without knowing which kind the user chose.
This is the seam for kinds defined elsewhere, such as the simulated camera, which needs the
simulated world:

    @register_camera("sim")
    def _sim_camera(argument: str, *, world, **_context) -> Camera: ...

    make_camera("sim", world=world)   # once the module holding the factory is imported
"""
from __future__ import annotations

from typing import Any, Callable

from device.cameras.base import Camera
from device.cameras.errors import CameraSpecError

CameraFactory = Callable[..., Camera]

_FACTORIES: dict[str, CameraFactory] = {}


def register_camera(kind: str) -> Callable[[CameraFactory], CameraFactory]:
    """Decorator registering `factory(argument, **context) -> Camera` under `kind`."""
    if not kind or not kind.isidentifier():
        raise ValueError(f"camera kind must be a plain name, got {kind!r}")

    def decorate(factory: CameraFactory) -> CameraFactory:
        if _FACTORIES.get(kind, factory) is not factory:
            raise ValueError(f"camera kind {kind!r} is already registered")
        _FACTORIES[kind] = factory
        return factory

    return decorate


def camera_kinds() -> list[str]:
    """Names of the registered camera kinds, sorted."""
    return sorted(_FACTORIES)


def parse_spec(spec: str) -> tuple[str, str]:
    """Split `kind:argument` into its two parts (the argument may itself contain ':')."""
    if not isinstance(spec, str) or not spec.strip():
        raise CameraSpecError(f"camera spec must be a non-empty string like 'opencv:0', got {spec!r}")
    kind, _, argument = spec.strip().partition(":")
    return kind, argument


def make_camera(spec: str, **context: Any) -> Camera:
    """The (unopened) camera that `spec` names; `context` is passed through to its factory."""
    kind, argument = parse_spec(spec)
    factory = _FACTORIES.get(kind)
    if factory is None:
        raise CameraSpecError(
            f"unknown camera kind {kind!r} in spec {spec!r}; known kinds: {', '.join(camera_kinds())}"
        )
    return factory(argument, **context)


def parse_options(argument: str, spec_kind: str) -> dict[str, str]:
    """`key=value,key=value` into a dict, with an error naming the bad piece."""
    options: dict[str, str] = {}
    for piece in filter(None, (p.strip() for p in argument.split(","))):
        key, sep, value = piece.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise CameraSpecError(f"{spec_kind} option {piece!r} must look like key=value")
        if key.strip() in options:
            raise CameraSpecError(f"{spec_kind} option {key.strip()!r} given twice")
        options[key.strip()] = value.strip()
    return options
