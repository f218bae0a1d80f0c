"""Choosing a TFLite interpreter: the device runs without TensorFlow when it can."""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import numpy as np

# In order of preference. tflite-runtime stopped at 2.14 and fails on the first
# Interpreter(...) beside numpy 2, so it is only tried beside numpy 1.
# Each is (module to import, attribute path to the Interpreter class).
BACKENDS = (
    ("ai_edge_litert.interpreter", "Interpreter"),
    ("tflite_runtime.interpreter", "Interpreter"),
    ("tensorflow", "lite.Interpreter"),  # tensorflow.lite is an API alias, not importable itself
)


class NoInterpreterError(OSError):
    """No usable TFLite interpreter is installed."""


@dataclass(frozen=True)
class InterpreterBackend:
    """An importable interpreter: the module it came from and its `Interpreter` class."""

    name: str
    interpreter_class: Any


def _numpy_major() -> int:
    return int(np.__version__.split(".")[0])


def find_backend(preferred: tuple[tuple[str, str], ...] = BACKENDS) -> InterpreterBackend:
    """The first usable backend of `preferred`; raises NoInterpreterError naming what was tried."""
    tried = []
    for module_name, attribute in preferred:
        name = f"{module_name}.{attribute}".removesuffix(".Interpreter")
        if module_name.startswith("tflite_runtime") and _numpy_major() >= 2:
            tried.append(f"{name} (skipped: needs numpy<2, found {np.__version__})")
            continue
        try:
            found: Any = importlib.import_module(module_name)
            for part in attribute.split("."):
                found = getattr(found, part)
        except (ImportError, AttributeError) as exc:
            tried.append(f"{name} ({exc})")
            continue
        return InterpreterBackend(name, found)
    raise NoInterpreterError(
        "no TFLite interpreter found; install ai-edge-litert (pip install ai-edge-litert). Tried: " + "; ".join(tried)
    )


MAX_THREADS = 64  # a Pi has 4 cores, a big workstation a few dozen


def make_interpreter(model_path: str, num_threads: int | None = None, backend: InterpreterBackend | None = None) -> Any:
    """An allocated interpreter for the model file on the first usable backend."""
    if num_threads is not None and not 1 <= num_threads <= MAX_THREADS:
        # The interpreter crashes the process (not an exception) when it cannot start that many.
        raise ValueError(f"interpreter threads must be in [1, {MAX_THREADS}], got {num_threads}")
    backend = backend or find_backend()
    try:
        interpreter = backend.interpreter_class(model_path=model_path, num_threads=num_threads)
    except ValueError as exc:  # the interpreters report unreadable model files as ValueError
        raise OSError(f"cannot load TFLite model {model_path}: {exc}") from exc
    interpreter.allocate_tensors()
    return interpreter
