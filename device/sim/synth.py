"""`bricksort synth`: a simulated capture dataset in the captures layout, with exact labels."""
from __future__ import annotations

import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from device.capture.manifest import CaptureRecord, ManifestWriter, validate_id
from device.sim.camera import RIG_FRAME_SIDE, CameraConfig
from device.sim.look import Look
from device.sim.parts import PART_IDS, part_spec
from device.sim.renderer import Renderer
from device.sim.scene import Brick, random_brick

SHEET_COLUMNS = 8
SHEET_TILE = 150
SHEET_LABEL = 22  # height of the caption strip above each row


@dataclass(frozen=True)
class SynthConfig:
    """What `synthesize` renders; validated on construction."""

    out: Path
    parts: tuple[str, ...] = PART_IDS
    bricks_per_part: int = 20
    views: int = 8
    seed: int = 0
    size_hw: tuple[int, int] = (RIG_FRAME_SIDE, RIG_FRAME_SIDE)
    contact_sheet: Path | None = None
    # None: each brick under its own random look (light, camera placement, noise), for models
    # that must cope with any rig. A Look: every brick under that one, as a single rig with
    # locked exposure photographs them (the digital twin sorts under `Look()`).
    look: Look | None = None

    def __post_init__(self) -> None:
        if not self.parts:
            raise ValueError("parts: name at least one part")
        for part in self.parts:
            part_spec(part)
        if len(set(self.parts)) != len(self.parts):
            raise ValueError(f"parts: each part may be named once, got {' '.join(self.parts)}")
        if self.bricks_per_part < 1:
            raise ValueError(f"bricks-per-part must be >= 1, got {self.bricks_per_part}")
        if not 1 <= self.views <= 360:
            raise ValueError(f"views must be in [1, 360], got {self.views}")
        if len(self.size_hw) != 2 or not all(16 <= int(v) <= 4096 for v in self.size_hw):
            raise ValueError(f"size must be two sizes (height width) in [16, 4096] pixels, got {self.size_hw}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")
        if self.contact_sheet is not None and Path(self.contact_sheet).suffix.lower() not in (".png", ".jpg", ".jpeg"):
            raise ValueError(f"contact sheet {self.contact_sheet} must end in .png or .jpg")


@dataclass(frozen=True)
class SynthSummary:
    """What a run wrote."""

    out: Path
    images: int
    sessions: int
    contact_sheet: Path | None


def session_id(seed: int, part: str, index: int) -> str:
    """Name of the session holding simulated brick `index` of `part` (unique across parts and seeds)."""
    return validate_id(f"sim-s{seed}-{part}-{index:04d}", "session id")


def brick_rng(seed: int, part: str, index: int) -> np.random.Generator:
    """Generator of one simulated brick: independent of which other parts or bricks a run makes."""
    return np.random.default_rng([seed, zlib.crc32(part.encode()), index])


def view_angle(view: int, views: int) -> float:
    """Turntable angle of view `view` out of `views` evenly spaced ones."""
    return 360.0 * view / views


def synthesize(config: SynthConfig, *, progress: bool = True) -> SynthSummary:
    """Render `config.bricks_per_part` bricks of each part, `config.views` views each, into `config.out`.

    Refuses (FileExistsError) to write into a session that already exists, so nothing is overwritten."""
    from tqdm import tqdm

    clashes = [
        config.out / part / session_id(config.seed, part, i)
        for part in config.parts
        for i in range(config.bricks_per_part)
        if (config.out / part / session_id(config.seed, part, i)).exists()
    ]
    if clashes:
        raise FileExistsError(
            f"{len(clashes)} session folder(s) already exist, e.g. {clashes[0]}; "
            "choose an empty output folder or another --seed"
        )
    renderer = Renderer(config.size_hw, CameraConfig(), noise_seed=config.seed)
    # Rendered data can be rendered again: no fsync per image (it cost more than the rendering).
    writer = ManifestWriter(config.out, durable=False)
    sheet_tiles: dict[str, list[np.ndarray]] = {part: [] for part in config.parts}
    total = len(config.parts) * config.bricks_per_part * config.views
    images = 0
    with tqdm(total=total, desc="synth", unit="img", disable=not progress) as bar:
        for part in config.parts:
            for index in range(config.bricks_per_part):
                rng = brick_rng(config.seed, part, index)
                brick = random_brick(part, rng)
                session = session_id(config.seed, part, index)
                for view in range(config.views):
                    angle = view_angle(view, config.views)
                    jpeg, box = renderer.render_jpeg(brick, angle, rng, look=config.look)
                    writer.write_image(
                        CaptureRecord(
                            part, session, view, angle, box=box, camera=_ground_truth(brick, config.look), source="synth"
                        ),
                        jpeg,
                    )
                    if view == 0 and config.contact_sheet is not None and index < SHEET_COLUMNS:
                        sheet_tiles[part].append(cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR))
                    images += 1
                    bar.update()
    sheet = None
    if config.contact_sheet is not None:
        sheet = Path(config.contact_sheet)
        write_contact_sheet(sheet, sheet_tiles)
    return SynthSummary(config.out, images, len(config.parts) * config.bricks_per_part, sheet)


def _ground_truth(brick: Brick, look: Look | None) -> dict:
    """The manifest's camera field for a simulated frame: the look it was rendered under and the exact brick."""
    return {
        "spec": "sim",
        "look": asdict(look if look is not None else brick.look),
        "brick": {
            "part": brick.part_id,
            "color": brick.color.name,
            "pose": brick.pose,
            "yaw_deg": brick.yaw_deg,
            "offset_mm": list(brick.offset_mm),
        },
    }


def write_contact_sheet(path: Path, tiles_by_part: dict[str, list[np.ndarray]]) -> None:
    """One row per part of BGR frames, each row labelled with its part id and name."""
    rows = []
    for part, tiles in tiles_by_part.items():
        row = np.full((SHEET_LABEL + SHEET_TILE, SHEET_TILE * SHEET_COLUMNS, 3), 255, np.uint8)
        for column, tile in enumerate(tiles[:SHEET_COLUMNS]):
            row[SHEET_LABEL:, column * SHEET_TILE : (column + 1) * SHEET_TILE] = cv2.resize(
                tile, (SHEET_TILE, SHEET_TILE), interpolation=cv2.INTER_AREA
            )
        label = f"{part}  {part_spec(part).name}"
        cv2.putText(row, label, (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
        rows.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), np.vstack(rows)):
        raise OSError(f"could not write contact sheet {path}")


def run_synth(args) -> int:
    """Handler of `bricksort synth`."""
    config = SynthConfig(
        out=Path(args.out),
        parts=tuple(args.parts) if args.parts else PART_IDS,
        bricks_per_part=args.bricks_per_part,
        views=args.views,
        seed=args.seed,
        size_hw=(args.size[0], args.size[1]),
        contact_sheet=Path(args.contact_sheet) if args.contact_sheet else None,
        look=Look() if args.rig_look else None,
    )
    summary = synthesize(config, progress=not args.quiet)
    print(f"wrote {summary.images} images of {summary.sessions} simulated bricks to {summary.out}")
    if summary.contact_sheet is not None:
        print(f"contact sheet: {summary.contact_sheet}")
    return 0
