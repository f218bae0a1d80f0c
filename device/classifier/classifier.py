"""The TFLite classifier: model-sized crops or whole frames in, class probabilities out."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import cv2
import numpy as np

from device.classifier.bundle import Bundle, BundleError, load_bundle
from device.classifier.interpreter import find_backend, make_interpreter
from device.vision.box import Box
from device.vision.preprocess import model_input, warm_up_frame

# Most crops one invoke() takes. The interpreter's tensors grow with the batch: export scoring
# 690 test crops in one batch took 1.7 GB more than the rest of the export (MobileNetV2 0.35 at
# 160), and a batch has no speed to give on a CPU. The sorter's few views fit in one.
MAX_BATCH = 32


@dataclass(frozen=True)
class Category:
    """One class of a prediction: part id, class index, probability."""

    label: str
    index: int
    score: float


def top_categories(probabilities: np.ndarray, labels: Sequence[str], top_k: int = 5) -> list[Category]:
    """The `top_k` most probable classes of one probability vector, best first."""
    if top_k < 1:
        raise ValueError(f"top_k must be >= 1, got {top_k}")
    # Plain Python on a list: for tens of classes it beats NumPy's argsort, whose call
    # overhead dominates once invoke() has pushed it out of the CPU caches (36 against 63 us
    # here). `sorted` is stable, so tied classes keep index order.
    scores = probabilities.tolist()
    order = sorted(range(len(scores)), key=scores.__getitem__, reverse=True)[:top_k]
    return [Category(labels[i], i, scores[i]) for i in order]


class Classifier:
    """A bundle's model on the TFLite interpreter, loaded once.

    The model takes uint8 RGB crops (normalisation is inside it); quantised int8/uint8
    inputs and outputs are converted here, so callers always see float32 probabilities."""

    def __init__(self, bundle: Bundle | str | Path, num_threads: int | None = None, quantization: str | None = None):
        self.bundle = bundle if isinstance(bundle, Bundle) else load_bundle(bundle)
        self.labels = self.bundle.labels
        self.input_hw = self.bundle.metadata.input_hw
        backend = find_backend()
        self.backend = backend.name
        model_path = self.bundle.model_path(quantization)
        self._interpreter = make_interpreter(str(model_path), num_threads, backend)
        self._input = self._interpreter.get_input_details()[0]
        self._output = self._interpreter.get_output_details()[0]
        self._to_input = _pixel_converter(self._input)
        self._to_probabilities = _score_converter(self._output)
        self._check_against_bundle(model_path)
        # A dynamic batch dimension (-1) lets several views share one invoke().
        self.batchable = int(self._input["shape_signature"][0]) == -1
        self._batch = int(self._input["shape"][0])

    def _check_against_bundle(self, model_path: Path) -> None:
        shape = tuple(int(v) for v in self._input["shape"])
        if len(shape) != 4 or shape[3] != 3:
            raise BundleError(f"{model_path}: model input shape {shape} is not (batch, height, width, 3)")
        if shape[1:3] != self.input_hw:
            raise BundleError(
                f"{model_path}: model input is {shape[1]}x{shape[2]} but metadata says "
                f"{self.input_hw[0]}x{self.input_hw[1]} (height x width)"
            )
        classes = int(self._output["shape"][-1])
        if classes != len(self.labels):
            raise BundleError(f"{model_path}: model has {classes} outputs but labels.json lists {len(self.labels)} classes")

    @property
    def interpreter(self) -> Any:
        """The TFLite interpreter the bundle's model runs on (for timing and diagnostics)."""
        return self._interpreter

    @property
    def num_classes(self) -> int:
        """Number of classes the model scores."""
        return len(self.labels)

    def probabilities(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """(n, classes) float32 probabilities for n uint8 RGB crops of the model's input size."""
        expected = (*self.input_hw, 3)
        for i, crop in enumerate(crops):
            if crop.shape != expected or crop.dtype != np.uint8:
                raise ValueError(f"crop {i}: expected {expected} uint8 RGB, got {crop.shape} {crop.dtype}")
        if not crops:
            return np.zeros((0, self.num_classes), dtype=np.float32)
        batch = crops[0][None] if len(crops) == 1 else np.stack(crops)  # one view: a view, not a copy
        size = MAX_BATCH if self.batchable else 1
        if len(batch) <= size:
            return self._run(batch)
        return np.concatenate([self._run(batch[i : i + size]) for i in range(0, len(batch), size)])

    def _run(self, batch: np.ndarray) -> np.ndarray:
        if len(batch) != self._batch:
            self._interpreter.resize_tensor_input(self._input["index"], [len(batch), *batch.shape[1:]])
            self._interpreter.allocate_tensors()
            self._batch = len(batch)
        self._interpreter.set_tensor(self._input["index"], self._to_input(batch))
        self._interpreter.invoke()
        return self._to_probabilities(self._interpreter.get_tensor(self._output["index"]))

    def classify(self, frame_rgb: np.ndarray, box: Box | None = None, top_k: int = 5) -> list[Category]:
        """Top-k classes for one camera frame: crop as in training (`model_input`), then score."""
        crop = model_input(frame_rgb, self.input_hw, margin=self.bundle.metadata.crop_margin, box=box)
        return top_categories(self.probabilities([crop])[0], self.labels, top_k)

    def warm_up(self) -> list[Category]:
        """`classify` a synthetic frame (`warm_up_frame`) once, at start-up, so that the first
        real frame does not pay the one-time costs (OpenCV's colour tables, the first invoke())."""
        return self.classify(warm_up_frame())


def _pixel_converter(details: dict[str, Any]) -> Callable[[np.ndarray], np.ndarray]:
    """uint8 pixels -> the model's input type, as one function made once per model."""
    dtype = details["dtype"]
    scale, zero_point = details["quantization"]
    if dtype == np.float32:
        return lambda pixels: pixels.astype(np.float32)
    if dtype == np.uint8 and (scale, zero_point) == (1.0, 0):
        return lambda pixels: pixels  # the usual export: the model takes raw pixel values
    if dtype not in (np.uint8, np.int8) or scale == 0:
        raise BundleError(f"unsupported model input type {np.dtype(dtype).name} with quantization {(scale, zero_point)}")
    info = np.iinfo(dtype)
    # A pixel has 256 values: look them up rather than rescale the frame in floats (1.2 ms
    # for a 160x160 crop here, as long as invoke() itself; the table takes 0.07 ms).
    table = np.clip(np.round(np.arange(256) / scale + zero_point), info.min, info.max).astype(dtype)

    def convert(pixels: np.ndarray) -> np.ndarray:
        flat = pixels.reshape(-1, pixels.shape[-2] * pixels.shape[-1])  # cv2.LUT takes 2-D
        return cv2.LUT(flat, table).reshape(pixels.shape)

    return convert


def _score_converter(details: dict[str, Any]) -> Callable[[np.ndarray], np.ndarray]:
    """The model's output type -> float32 probabilities (a new array: the interpreter reuses
    its buffer), as one function made once per model."""
    dtype = details["dtype"]
    if dtype == np.float32:
        return lambda values: values.copy()
    if dtype not in (np.uint8, np.int8):
        raise BundleError(f"unsupported model output type {np.dtype(dtype).name}")
    scale, zero_point = details["quantization"]
    # One lookup in a 256-entry table, indexed by the raw bytes (int8 viewed as uint8):
    # a third of the time of casting and rescaling after invoke() (10 against 26 us here).
    raw = np.arange(256, dtype=np.uint8).view(dtype).astype(np.float32)
    table = ((raw - zero_point) * scale).astype(np.float32)
    return lambda values: table[values.view(np.uint8)]
