"""`TrainConfig`: every choice a training run makes, validated once at the edge and saved
beside the run so `--resume` and `export` rebuild exactly the same model."""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from device.vision.crop import DEFAULT_MARGIN

SCHEDULES = ("constant", "cosine")  # phase 2's learning rate per epoch (trainer.train.schedule)
# What phase 2 trains on: the frozen layers' cached outputs (trainer.train.stem) or images
# decoded, cropped and augmented afresh every epoch (trainer.train.pipeline).
FINE_TUNE_INPUTS = ("cached", "images")

BACKBONES = ("mobilenet_v2", "mobilenet", "mobilenet_v3_small", "mobilenet_v3_large")
DEFAULT_CACHE_DIR = Path("~/.cache/bricksort/bottlenecks")  # the crop and render caches sit beside it
CONFIG_FILE = "config.json"
MAX_INPUT_SIDE = 1024  # MobileNets are made for 96-224; past this a typo costs minutes and gigabytes


@dataclass(frozen=True)
class TrainConfig:
    """A training run. Sizes are (height, width); `weights` is "imagenet", "none" or a path."""

    data_root: Path
    run_dir: Path
    # Image folders (same layouts as data_root) added to the training side only, e.g.
    # `bricksort synth` renders: never validated or tested on, so scores stay data_root's.
    extra_train: tuple[Path, ...] = ()
    # A saved split (split.json, or a run folder holding one) used instead of making one, so
    # runs compare on the same test images whatever the duplicate search finds today.
    split_from: Path | None = None
    # Rendered bricks of the data's parts that the simulator knows, added like extra_train
    # (trainer.data.rendered_extra): poses and colours the captures lack. 0: photos only.
    synth_bricks: int = 150  # per part, each in `synth_views` turntable views
    synth_views: int = 3
    backbone: str = "mobilenet_v2"
    alpha: float = 0.35
    input_hw: tuple[int, int] = (160, 160)
    weights: str = "imagenet"
    epochs: int = 40  # phase 1: head on cached bottlenecks
    # Phase 2 defaults: the recipe measured best on turntable-10 (docs/training.md); its int8
    # bundle stayed within the export gate on every split, the head alone's did not.
    fine_tune_epochs: int = 8  # phase 2: top blocks, augmented images (0: head only)
    fine_tune_layers: int | None = None  # backbone layers (from the top) unfrozen in phase 2; None: ~1/5 (trainer.train.model)
    batch_size: int = 64
    learning_rate: float = 1e-3
    fine_tune_learning_rate: float = 2e-4
    fine_tune_schedule: str = "cosine"  # or "constant"; cosine decays phase 2's rate to ~0 over its epochs
    fine_tune_input: str = "cached"  # or "images" (FINE_TUNE_INPUTS)
    augment_copies: int = 2  # "cached" phase 2: augmented versions kept per training image
    fine_tune_average: bool = True  # phase 2 also tries the mean weights of its last half of epochs (trainer.train.averaging)
    int8_aware: bool = True  # "cached" phase 2 also trains on the frozen layers' int8 output (trainer.train.int8_stem)
    dropout: float = 0.5
    hidden_units: int = 256  # 0: softmax straight on the pooled features
    feature_noise: float = 0.3  # std of Gaussian noise on features while training the head
    patience: int = 8  # phase-1 early stop on val loss
    allow_flip: bool = False  # only for sets without mirror-twin parts
    augment_strength: float = 0.05  # scales phase 2's rotation, light, zoom and shift ranges (0: none, 1: full)
    colour_augment: bool = False  # phase 2 also shifts hue, saturation and greys: parts come in colours the data lacks
    class_weights: bool = True
    seed: int = 1
    val_fraction: float = 0.15
    test_fraction: float = 0.15
    margin: float = DEFAULT_MARGIN
    cache_dir: Path = DEFAULT_CACHE_DIR
    resume: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_root", Path(self.data_root))
        object.__setattr__(self, "run_dir", Path(self.run_dir))
        object.__setattr__(self, "extra_train", tuple(Path(folder) for folder in self.extra_train))
        object.__setattr__(self, "cache_dir", Path(self.cache_dir).expanduser())
        if self.split_from is not None:
            object.__setattr__(self, "split_from", Path(self.split_from))
        object.__setattr__(self, "input_hw", tuple(int(v) for v in self.input_hw))
        if self.backbone not in BACKBONES:
            raise ValueError(f"backbone must be one of {', '.join(BACKBONES)}, got {self.backbone!r}")
        if len(self.input_hw) != 2 or min(self.input_hw) < 32 or max(self.input_hw) > MAX_INPUT_SIDE:
            raise ValueError(f"input_hw must be (height, width), each in [32, {MAX_INPUT_SIDE}], got {self.input_hw}")
        if self.weights not in ("imagenet", "none") and not Path(self.weights).is_file():
            raise ValueError(f"weights must be 'imagenet', 'none' or an existing weights file, got {self.weights!r}")
        for name in ("epochs", "fine_tune_epochs", "hidden_units", "augment_copies", "synth_bricks"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not 1 <= self.synth_views <= 360:
            raise ValueError(f"synth_views must be in [1, 360], got {self.synth_views}")
        if self.fine_tune_layers is not None and self.fine_tune_layers < 0:
            raise ValueError(f"fine_tune_layers must be >= 0 (or None: the default share), got {self.fine_tune_layers}")
        if self.epochs == 0 and self.fine_tune_epochs == 0:
            raise ValueError("epochs and fine_tune_epochs are both 0: nothing to train")
        for name in ("batch_size", "patience"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("learning_rate", "fine_tune_learning_rate", "alpha"):
            if not (getattr(self, name) > 0 and math.isfinite(getattr(self, name))):
                raise ValueError(f"{name} must be a finite number > 0, got {getattr(self, name)}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if not (0.0 < self.val_fraction < 1.0 and 0.0 < self.test_fraction < 1.0):
            raise ValueError("val_fraction and test_fraction must each be in (0, 1)")
        if self.val_fraction + self.test_fraction >= 0.9:
            raise ValueError("val_fraction + test_fraction must leave at least 10% for training")
        if self.fine_tune_schedule not in SCHEDULES:
            raise ValueError(f"fine_tune_schedule must be one of {', '.join(SCHEDULES)}, got {self.fine_tune_schedule!r}")
        if self.fine_tune_input not in FINE_TUNE_INPUTS:
            raise ValueError(f"fine_tune_input must be one of {', '.join(FINE_TUNE_INPUTS)}, got {self.fine_tune_input!r}")
        if not 0.0 <= self.augment_strength <= 1.0:
            raise ValueError(f"augment_strength must be in [0, 1], got {self.augment_strength}")
        for name in ("feature_noise", "margin"):
            if not (getattr(self, name) >= 0 and math.isfinite(getattr(self, name))):
                raise ValueError(f"{name} must be a finite number >= 0, got {getattr(self, name)}")
        if self.split_from is not None and not self.split_from.is_file() and not (self.split_from / "split.json").is_file():
            raise ValueError(f"split_from {self.split_from} is neither a split.json nor a run folder holding one")
        if any(folder.resolve() == self.data_root.resolve() for folder in self.extra_train):
            raise ValueError(f"extra training folder {self.data_root} is the data folder itself: its images are split already")

    @property
    def crop_facts_dir(self) -> Path:
        """The crop-facts cache (trainer.data.analysis) beside the bottlenecks: the duplicate
        search, the held-out check and the renders fill it, and phase 1 reads its boxes."""
        return self.cache_dir.parent / "crops"

    @property
    def renders_dir(self) -> Path:
        """Where rendered training images (`synth_bricks`) are cached, beside the bottlenecks."""
        return self.cache_dir.parent / "renders"

    def to_json(self) -> dict[str, Any]:
        """JSON-safe dict (paths as strings), the form saved in the run folder."""
        raw = asdict(self)
        for key, value in raw.items():
            if isinstance(value, Path):
                raw[key] = str(value)
        # Absolute, so `export` and `--resume` find the data from any working folder.
        for key in ("data_root", "split_from", "cache_dir"):
            if raw[key] is not None:
                raw[key] = str(Path(raw[key]).absolute())
        if self.weights not in ("imagenet", "none"):
            raw["weights"] = str(Path(self.weights).absolute())
        raw["input_hw"] = list(self.input_hw)
        raw["extra_train"] = [str(folder.absolute()) for folder in self.extra_train]
        return raw

    def save(self, run_dir: Path) -> None:
        """Write the config as `config.json` in `run_dir`."""
        (run_dir / CONFIG_FILE).write_text(json.dumps(self.to_json(), indent=2), encoding="utf-8")

    @classmethod
    def load(cls, run_dir: Path, **overrides: Any) -> "TrainConfig":
        """The config a run was started with, with `overrides` applied (e.g. more epochs). Its
        `run_dir` is the folder it was loaded from: a copied or moved run resumes where it is
        now, never into the folder it was first written to."""
        path = Path(run_dir) / CONFIG_FILE
        if not path.is_file():
            if (Path(run_dir) / "metadata.json").is_file():
                raise FileNotFoundError(
                    f"{run_dir} is a model bundle, not a training run: give the run it was exported from "
                    f"(`bricksort export` puts a bundle in RUN/bundle by default, so maybe {Path(run_dir).parent})"
                )
            raise FileNotFoundError(f"{path} is missing: {run_dir} is not a bricksort training run")
        raw = json.loads(path.read_text(encoding="utf-8"))
        raw.setdefault("synth_bricks", 0)  # saved before renders joined by default: it trained on none
        known = {f.name for f in fields(cls)} - {"run_dir"}
        config = cls(**{k: v for k, v in raw.items() if k in known}, run_dir=run_dir)
        return replace(config, **overrides) if overrides else config
