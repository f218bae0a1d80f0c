"""`bricksort synth` writes a simulated dataset in the captures layout with exact labels."""
import hashlib
import json

import cv2
import pytest

from bricksort.cli import main
from device.capture.manifest import iter_records, read_session_manifest
from device.sim.synth import SHEET_LABEL, SHEET_TILE, SynthConfig, synthesize

PARTS = ("3001", "3039")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth") / "data"
    summary = synthesize(SynthConfig(out, PARTS, bricks_per_part=2, views=3, seed=5, size_hw=(64, 80)), progress=False)
    return out, summary


def test_one_session_per_brick_with_a_jpeg_per_view(dataset):
    out, summary = dataset
    assert summary.images == 2 * 2 * 3 and summary.sessions == 4
    sessions = sorted(p.relative_to(out).as_posix() for p in out.glob("*/*") if p.is_dir())
    assert sessions == [f"{part}/sim-s5-{part}-{i:04d}" for part in PARTS for i in range(2)]
    for session in out.glob("*/*"):
        assert sorted(p.name for p in session.glob("*.jpg")) == ["0000.jpg", "0001.jpg", "0002.jpg"]
        assert cv2.imread(str(session / "0001.jpg")).shape == (64, 80, 3)


def test_manifest_labels_angles_boxes_and_hashes_are_exact(dataset):
    out, _ = dataset
    records = list(iter_records(out))
    assert len(records) == 12
    for record in records:
        assert record.file.startswith(f"{record.part}/{record.session}/")
        assert record.angle_deg == pytest.approx(120.0 * record.view)
        assert record.source == "synth"
        assert record.camera["brick"]["part"] == record.part
        assert hashlib.sha256((out / record.file).read_bytes()).hexdigest() == record.sha256
        x, y, w, h = record.box
        assert 0 <= x and 0 <= y and w > 0 and h > 0 and x + w <= 80 and y + h <= 64
    # one physical brick per session: the same colour and pose in every view
    session = read_session_manifest(out / "3039" / "sim-s5-3039-0001")
    assert len({json.dumps(r.camera, sort_keys=True) for r in session}) == 1


def test_the_same_seed_renders_the_same_bytes(dataset, tmp_path):
    out, _ = dataset
    again = tmp_path / "again"
    synthesize(SynthConfig(again, ("3039",), bricks_per_part=2, views=3, seed=5, size_hw=(64, 80)), progress=False)
    first = {r.file: r.sha256 for r in iter_records(out) if r.part == "3039"}
    assert first == {r.file: r.sha256 for r in iter_records(again)}


def test_existing_sessions_are_never_overwritten(dataset):
    out, _ = dataset
    before = (out / "3001" / "sim-s5-3001-0000" / "manifest.jsonl").read_bytes()
    with pytest.raises(FileExistsError, match="already exist"):
        synthesize(SynthConfig(out, PARTS, bricks_per_part=1, views=1, seed=5, size_hw=(64, 80)), progress=False)
    assert (out / "3001" / "sim-s5-3001-0000" / "manifest.jsonl").read_bytes() == before


def test_cli_writes_the_dataset_and_a_contact_sheet(tmp_path, capsys):
    sheet = tmp_path / "sheet.png"
    code = main(["synth", str(tmp_path / "d"), "--parts", "3023", "3701", "--bricks-per-part", "2", "--views", "2",
                 "--size", "48", "48", "--contact-sheet", str(sheet), "--quiet"])
    assert code == 0
    assert "wrote 8 images of 4 simulated bricks" in capsys.readouterr().out
    image = cv2.imread(str(sheet))
    assert image.shape[0] == 2 * (SHEET_LABEL + SHEET_TILE) and image.std() > 5


@pytest.mark.parametrize(
    "args, message",
    [
        (["--parts", "9999"], "unknown part '9999'"),
        (["--views", "0"], "views must be in"),
        (["--bricks-per-part", "0"], "bricks-per-part must be >= 1"),
        (["--size", "8", "300"], "size must be"),
        (["--contact-sheet", "sheet.gif"], "must end in .png or .jpg"),
    ],
)
def test_cli_rejects_bad_input_with_a_clear_message_and_writes_nothing(tmp_path, capsys, args, message):
    out = tmp_path / "d"
    assert main(["synth", str(out), "--quiet", *args]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_a_rig_look_renders_every_brick_under_the_twins_own_light_and_camera(tmp_path):
    from dataclasses import asdict

    from device.sim.look import Look

    out = tmp_path / "rig"
    synthesize(SynthConfig(out, PARTS, bricks_per_part=2, views=1, seed=5, size_hw=(64, 80), look=Look()), progress=False)
    looks = {json.dumps(r.camera["look"], sort_keys=True) for r in iter_records(out)}
    assert looks == {json.dumps(asdict(Look()), sort_keys=True)}
    # without it, each brick has a look of its own
    out = synthesize(SynthConfig(tmp_path / "any", PARTS, bricks_per_part=2, views=1, seed=5, size_hw=(64, 80)), progress=False).out
    assert len({json.dumps(r.camera["look"], sort_keys=True) for r in iter_records(out)}) == 4
