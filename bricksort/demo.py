"""`bricksort demo`: the whole system, offline, on the digital twin.

Render a synthetic captures dataset -> audit it -> train a MobileNetV2 on it -> export the
int8 bundle -> evaluate it on freshly rendered bricks -> sort fresh simulated bricks through
the real sort loop, with the virtual Marlin on a pseudo-terminal. Every stage is the same
code the real commands run (`synth`, `audit`, `train`, `export`, `evaluate`, `sort
--simulate`); the demo only chooses small, fast settings and wires them together.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from device.sim.parts import PART_IDS

if TYPE_CHECKING:
    from trainer.train.config import TrainConfig

BACKBONE_ALPHA = 0.35
INPUT_HW = (160, 160)
# Without pretrained weights the whole network learns: a smaller input keeps that within minutes
# on a CPU (the head-only phase on random features would stay near chance).
SCRATCH_INPUT_HW = (96, 96)
SCRATCH_LEARNING_RATE = 2e-3
SCRATCH_AUGMENT_STRENGTH = 0.1  # turns of +-36 degrees, light +-1.5%: full-strength changes slow it to a crawl
WEIGHTS_CHOICES = ("auto", "imagenet", "none")
# Fine-tuning on ImageNet weights (--fine-tune): the top 60 layers (20 with weights). Rendered
# bricks already come at every table angle, so augmentation stays light: at 0.3 the rotated,
# re-lit crops raised the head's own loss from 0.59 to 1.64 before any step was taken.
FINE_TUNE_LAYERS = 60
FINE_TUNE_LEARNING_RATE = 2e-4
FINE_TUNE_AUGMENT_STRENGTH = 0.05


def keras_weights_dirs() -> list[Path]:
    """Where Keras looks for application weights before it downloads: $KERAS_HOME/models, ~/.keras/models."""
    dirs = []
    if os.environ.get("KERAS_HOME"):
        dirs.append(Path(os.environ["KERAS_HOME"]).expanduser() / "models")
    dirs.append(Path.home() / ".keras" / "models")
    return dirs


def local_imagenet_weights(alpha: float = BACKBONE_ALPHA, input_hw: tuple[int, int] = INPUT_HW) -> Path | None:
    """The MobileNetV2 ImageNet file Keras would load for this width and size, if it is on disk.

    Keras names it after alpha and the input rows (224 when the size is not one of its own)."""
    rows = input_hw[0] if input_hw[0] in (96, 128, 160, 192, 224) else 224
    name = f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(alpha)}_{rows}_no_top.h5"
    return next((d / name for d in keras_weights_dirs() if (d / name).is_file()), None)


@dataclass(frozen=True)
class DemoConfig:
    """What the demo renders, trains and sorts; validated on construction."""

    out: Path = Path("demo-out")
    parts: tuple[str, ...] = PART_IDS
    # Simulated bricks are free and views of one brick are near-duplicates: many bricks with
    # few views each generalise better than few bricks with many (74% -> 81% single-view test
    # accuracy here for 24x8 -> 80x3 at about the same image count).
    bricks_per_part: int = 80
    views: int = 3
    eval_bricks_per_part: int = 4
    # Train on bricks photographed by the rig that sorts them (the twin's light and camera), as a
    # user captures on their own rig; False: a random look per brick (harder, for any rig).
    rig_look: bool = True
    sort_bricks: int = 100
    sort_views: int = 3
    time_scale: float = 0.1
    weights: str = "auto"
    epochs: int = 80  # the most; training stops when validation loss has not improved for 8 epochs
    fine_tune_epochs: int = 0  # on ImageNet weights: epochs of fine-tuning after the head (slow on a CPU)
    input_hw: tuple[int, int] | None = None  # None: 160x160 on ImageNet weights, 96x96 from scratch
    scratch_epochs: int = 6  # epochs of whole-network training when there are no ImageNet weights
    seed: int = 0
    cache_dir: Path = Path("~/.cache/bricksort")  # bottlenecks/ and crops/ below it, reused across runs
    progress: bool = True

    def __post_init__(self) -> None:
        if self.weights not in WEIGHTS_CHOICES:
            raise ValueError(f"weights must be one of {', '.join(WEIGHTS_CHOICES)}, got {self.weights!r}")
        if len(self.parts) < 2:
            raise ValueError("the demo needs at least two parts to tell apart")
        unknown = [p for p in self.parts if p not in PART_IDS]
        if unknown:
            raise ValueError(f"parts {', '.join(unknown)} cannot be rendered; known parts: {', '.join(PART_IDS)}")
        # 5 bricks per part at least: the grouped split puts whole bricks in train, val and test.
        for name, low in (
            ("bricks_per_part", 5), ("views", 1), ("eval_bricks_per_part", 1), ("sort_bricks", 1), ("epochs", 1),
            ("fine_tune_epochs", 0),
        ):
            if getattr(self, name) < low:
                raise ValueError(f"{name.replace('_', '-')} must be >= {low}, got {getattr(self, name)}")
        if not 1 <= self.sort_views <= 36:
            raise ValueError(f"sort-views must be between 1 and 36, got {self.sort_views}")
        if self.time_scale < 0:
            raise ValueError(f"time-scale must be >= 0, got {self.time_scale}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")
        if self.scratch_epochs < 1:
            raise ValueError(f"scratch-epochs must be >= 1, got {self.scratch_epochs}")
        if self.input_hw is not None and (len(self.input_hw) != 2 or min(self.input_hw) < 32):
            raise ValueError(f"input size must be (height, width), each >= 32, got {self.input_hw}")


@dataclass
class DemoResult:
    """Figures and report paths of one demo run, for the closing summary."""

    folder: Path
    weights: str
    images: int = 0
    test_accuracy: dict[str, float] = field(default_factory=dict)
    eval_accuracy: float = 0.0
    eval_images: int = 0
    fed: int = 0
    correct: int = 0
    wrong_bin: int = 0
    rejected: int = 0
    unresolved: int = 0
    jammed: int = 0
    unaccounted: int = 0
    problems: list[str] = field(default_factory=list)
    sort_wall_s: float = 0.0
    sort_simulated_s: float = 0.0
    reports: dict[str, Path] = field(default_factory=dict)
    stage_s: dict[str, float] = field(default_factory=dict)


def choose_weights(requested: str, input_hw: tuple[int, int] = INPUT_HW) -> tuple[str, str]:
    """("imagenet" or "none", a sentence saying why) for the requested choice. "auto" never
    downloads; "imagenet" has Keras download the weights (once, ~2 MB) when they are not on
    disk, and raises `WeightsDownloadError` (an OSError) when it cannot."""
    if requested == "none":
        return "none", "training from scratch (--weights none)"
    found = local_imagenet_weights(BACKBONE_ALPHA, input_hw)
    if found is not None:
        return "imagenet", f"ImageNet MobileNetV2 weights found locally: {found}"
    if requested == "imagenet":
        fetched = fetch_imagenet_weights(input_hw)
        return "imagenet", f"ImageNet MobileNetV2 weights downloaded once: {fetched or 'into Keras cache'}"
    where = " or ".join(str(d) for d in keras_weights_dirs())
    return "none", (
        f"no ImageNet weights found locally (looked in {where}): training from scratch, expect lower "
        "accuracy; --weights imagenet downloads them once (~2 MB) for a model worth sorting with"
    )


def fetch_imagenet_weights(input_hw: tuple[int, int] = INPUT_HW) -> Path | None:
    """Have Keras download the demo's backbone weights into its cache and return the file, or
    None when Keras chose a cache of its own (it falls back to a temporary folder when
    ~/.keras cannot be written; it loads them from there too)."""
    from trainer.train.config import TrainConfig
    from trainer.train.model import build_feature_extractor

    build_feature_extractor(TrainConfig(data_root=".", run_dir=".", alpha=BACKBONE_ALPHA, input_hw=input_hw))
    return local_imagenet_weights(BACKBONE_ALPHA, input_hw)


class _Stages:
    """Numbered stage headers with the time each took."""

    def __init__(self, total: int, say: Callable[[str], None]) -> None:
        self.total, self.say, self.number = total, say, 0
        self.times: dict[str, float] = {}
        self._name, self._started = "", 0.0

    def start(self, name: str, what: str) -> None:
        self.end()
        self.number += 1
        self._name, self._started = name, time.perf_counter()
        self.say(f"\n[{self.number}/{self.total}] {what}")

    def end(self) -> None:
        if self._name:
            self.times[self._name] = time.perf_counter() - self._started
            self.say(f"    ({self.times[self._name]:.1f} s)")
            self._name = ""


def run_demo(config: DemoConfig, say: Callable[[str], None] = print) -> DemoResult:
    """Run every stage into a fresh folder under `config.out` and return the figures."""
    from device.sim.synth import SynthConfig, synthesize
    from trainer.train.history import CURVES_FILE
    from trainer.train.run import run_training

    folder = Path(config.out) / datetime.now().strftime("%Y%m%d-%H%M%S")
    if folder.exists():
        raise FileExistsError(f"demo folder {folder} already exists: wait a second and run again")
    weights, why = choose_weights(config.weights, config.input_hw or INPUT_HW)  # may download: before any folder
    folder.mkdir(parents=True)
    result = DemoResult(folder=folder, weights=weights)
    say(f"bricksort demo: everything goes to {folder}\n{why}")
    stages = _Stages(6, say)

    look = "the rig's own look" if config.rig_look else "a random look each"
    stages.start("synth", f"rendering {config.bricks_per_part} bricks x {config.views} views of {len(config.parts)} parts ({look})")
    captures = folder / "captures"
    synth = synthesize(
        SynthConfig(
            captures, config.parts, config.bricks_per_part, config.views, config.seed,
            contact_sheet=folder / "contact_sheet.png", look=_training_look(config),
        ),
        progress=config.progress,
    )
    result.images = synth.images
    result.reports["rendered bricks"] = folder / "contact_sheet.png"

    stages.start("audit", "auditing the dataset (unreadable files, duplicates, leak-free split)")
    result.reports["audit"] = _audit(captures, folder / "audit", config, say)

    input_hw = config.input_hw or (INPUT_HW if weights == "imagenet" else SCRATCH_INPUT_HW)
    how = "ImageNet weights, head on cached features" if weights == "imagenet" else "from scratch, the whole network"
    if weights == "imagenet" and config.fine_tune_epochs:
        how += f", then {config.fine_tune_epochs} epochs fine-tuning its top {FINE_TUNE_LAYERS} layers"
    elif config.fine_tune_epochs:
        say(f"    --fine-tune {config.fine_tune_epochs} is for ImageNet weights: from scratch, --scratch-epochs sets the training")
    stages.start("train", f"training MobileNetV2 {BACKBONE_ALPHA} at {input_hw[0]}x{input_hw[1]} ({how})")
    run_dir = run_training(training_config(captures, folder / "run", weights, input_hw, config))
    result.reports["training curves"] = run_dir / CURVES_FILE

    stages.start("export", "exporting the int8 TFLite bundle (checked on the test split with the device's classifier)")
    bundle = _export(run_dir, folder / "bundle", config.sort_views, say)
    result.test_accuracy = {k: bundle.metadata.metrics[f"test_accuracy_{k}"] for k in ("float32", "int8")}

    stages.start("evaluate", f"evaluating the bundle on {config.eval_bricks_per_part} freshly rendered bricks per part")
    _evaluate(bundle.path, folder, config, result)

    stages.start("sort", f"sorting {config.sort_bricks} fresh simulated bricks in the digital twin (time scale {config.time_scale:g})")
    _sort(bundle.path, folder, config, result, say)
    stages.end()
    result.stage_s = stages.times
    return result


def _training_look(config: DemoConfig):
    """The look bricks are rendered under: the twin's (`Look()`, what `DigitalTwin` sorts under) or each brick's own."""
    from device.sim.look import Look

    return Look() if config.rig_look else None


def _audit(captures: Path, out: Path, config: DemoConfig, say: Callable[[str], None]) -> Path:
    from trainer.data.audit import AuditConfig, run_audit
    from trainer.data.audit_report import write_audit

    audit = run_audit(captures, AuditConfig(cache_dir=Path(config.cache_dir).expanduser() / "crops"), progress=config.progress)
    report = write_audit(audit, out)
    s = audit.summary
    say(f"    {s['images']} images in {len(s['classes'])} classes; near-duplicate groups {s['near_duplicates']['groups']}; "
        f"label conflicts {len(s['label_conflicts']['pairs'])}")
    return report


def training_config(
    captures: Path, run_dir: Path, weights: str, input_hw: tuple[int, int], config: DemoConfig
) -> TrainConfig:
    """The demo's `TrainConfig`: the head on cached features (plus `--fine-tune` epochs) on
    ImageNet weights, the whole network from scratch otherwise."""
    from trainer.train.config import TrainConfig

    common = dict(
        data_root=captures,
        run_dir=run_dir,
        alpha=BACKBONE_ALPHA,
        input_hw=input_hw,
        weights=weights,
        seed=config.seed + 1,
        cache_dir=Path(config.cache_dir).expanduser() / "bottlenecks",
        synth_bricks=0,  # the twin's frames are renders already
    )
    if weights == "imagenet":
        # Phase 2 on cached stem activations, the trainer's default: side by side on
        # `--bricks-per-part 300 --fine-tune 3 --any-look` (2026-11-30 evening) it trained in
        # 203 s against 322 s with fresh augmentation every epoch, and sorted 299 of 300 bricks
        # right (none wrong) against 298 (one wrong).
        return TrainConfig(
            **common, epochs=config.epochs, fine_tune_epochs=config.fine_tune_epochs,
            fine_tune_layers=FINE_TUNE_LAYERS, fine_tune_learning_rate=FINE_TUNE_LEARNING_RATE,
            fine_tune_schedule="constant", augment_strength=FINE_TUNE_AUGMENT_STRENGTH,
        )
    # One head epoch only gives phase 2 its starting checkpoint; then every layer learns. The
    # head's feature noise and heavy dropout suit strong pretrained features; on a network
    # that starts from nothing they drown what little it has learnt (loss stays at ln(classes)),
    # and so does full-strength augmentation within a few epochs; smaller batches give more steps.
    # Every layer trains, so there is no frozen stem to cache: fresh augmentation every epoch.
    return TrainConfig(
        **common, epochs=1, fine_tune_epochs=config.scratch_epochs, fine_tune_layers=10_000,
        fine_tune_learning_rate=SCRATCH_LEARNING_RATE, feature_noise=0.0, dropout=0.2, hidden_units=0,
        augment_strength=SCRATCH_AUGMENT_STRENGTH, batch_size=32, fine_tune_input="images", fine_tune_schedule="constant",
    )


def _export(run_dir: Path, out: Path, views: int, say: Callable[[str], None]):
    from trainer.export.export import ExportConfig, export_bundle
    from trainer.export.gate import MAX_INT8_DROP_POINTS, int8_loss_points

    # `bricksort export` refuses an int8 model that loses too much; the demo goes on with it
    # (the sort still shows what happens) but says so loudly.
    bundle = export_bundle(run_dir, out, force=True, export=ExportConfig(views=views))
    metrics = bundle.metadata.metrics
    lost = int8_loss_points(metrics["test_accuracy_float32"], metrics["test_accuracy_int8"])
    if lost > MAX_INT8_DROP_POINTS:
        say(f"    WARNING: int8 loses {lost:.1f} points against float32; `bricksort export` would refuse this bundle without --force")
    return bundle


def _evaluate(bundle: Path, folder: Path, config: DemoConfig, result: DemoResult) -> None:
    from device.sim.synth import SynthConfig, synthesize
    from trainer.evaluate.evaluate import evaluate_bundle

    fresh = folder / "fresh-bricks"
    # Another seed: bricks (colours, poses, looks) the model has never seen.
    synthesize(
        SynthConfig(fresh, config.parts, config.eval_bricks_per_part, 4, config.seed + 1000, look=_training_look(config)),
        progress=config.progress,
    )
    report = evaluate_bundle(bundle, fresh, folder / "evaluation")
    result.eval_accuracy, result.eval_images = report.accuracy, report.images
    result.reports["confusion matrix"] = Path(report.outputs["confusion_matrix"])
    result.reports["misclassified"] = Path(report.outputs["misclassified"])


def _sort(bundle: Path, folder: Path, config: DemoConfig, result: DemoResult, say: Callable[[str], None]) -> None:
    from device.sort.bins_config import example_bins_path, load_bins_config
    from device.sort.loop import LoopSettings
    from device.sort.recognise import recogniser_from_bundle
    from device.sort.session import SessionOptions
    from device.sort.status import StatusLine
    from device.world.feeder import FeederConfig
    from device.world.simulated_sort import sort_in_twin
    from device.world.twin import DigitalTwin, TwinConfig
    from firmware_bridge.rig_config import example_rig_path, load_rig_config

    rig_config = load_rig_config(example_rig_path())
    bins = load_bins_config(example_bins_path(), chute_positions=rig_config.chute.bins)
    journal = folder / "sort-journal.sqlite"
    twin = DigitalTwin(
        rig_config,
        TwinConfig(
            time_scale=config.time_scale,
            # The feeder's own seed space: none of these bricks was rendered for training.
            feeder=FeederConfig(parts=config.parts, count=config.sort_bricks, seed=config.seed + 2000),
            log_path=folder / "world-log.jsonl",
        ),
    )
    options = SessionOptions(journal=journal, settings=LoopSettings(views=config.sort_views), info={"bundle": str(bundle), "demo": True})
    run = sort_in_twin(twin, recogniser_from_bundle(str(bundle)), bins, options, status=StatusLine(bins), say=lambda text: say(f"    {text}"))
    r = run.reconciliation
    result.fed, result.correct, result.wrong_bin = r.fed, len(r.correct), len(r.wrong_bin)
    result.rejected, result.unresolved, result.jammed = len(r.rejected), len(r.unresolved), len(r.jammed)
    # A brick still on the table when the loop stopped is not accounted for either.
    result.unaccounted = len(r.unaccounted) + len(r.on_table)
    result.problems = list(r.problems)
    result.sort_wall_s, result.sort_simulated_s = run.wall_s, run.simulated_s
    result.reports["sort journal"] = journal
    result.reports["world log"] = folder / "world-log.jsonl"


def format_summary(result: DemoResult, total_s: float) -> str:
    """The closing summary: what went where, how fast, and where the reports are."""
    def per_minute(seconds: float) -> str:
        return f"{60 * result.fed / seconds:.1f}" if seconds > 0 else "n/a"

    def share(n: int) -> str:
        return f"{n:4d}  ({100 * n / result.fed:.1f}%)" if result.fed else f"{n:4d}"

    lines = [
        "",
        "=" * 72,
        f"bricksort demo finished in {total_s / 60:.1f} min ({result.weights} weights, {result.images} training images)",
        f"  model      test split: float32 {100 * result.test_accuracy.get('float32', 0):.1f}%, "
        f"int8 {100 * result.test_accuracy.get('int8', 0):.1f}%; fresh bricks (int8, single views): "
        f"{100 * result.eval_accuracy:.1f}% of {result.eval_images}",
        f"  bricks fed       {result.fed:4d}",
        f"  correct bin      {share(result.correct)}",
        f"  wrong bin        {share(result.wrong_bin)}",
        f"  rejected         {share(result.rejected)}",
        f"  unresolved       {share(result.unresolved)}",
        f"  jammed           {share(result.jammed)}",
        f"  unaccounted      {result.unaccounted:4d}  (must be 0)",
        f"  bricks/min       {per_minute(result.sort_simulated_s)} in simulated time (the real rig's motion), "
        f"{per_minute(result.sort_wall_s)} in wall time",
    ]
    if result.problems:
        lines.append("  JOURNAL AND WORLD DISAGREE:\n    " + "\n    ".join(result.problems))
    lines.append("  reports:")
    lines += [f"    {name:<17}{path}" for name, path in result.reports.items()]
    lines.append("=" * 72)
    return "\n".join(lines)
