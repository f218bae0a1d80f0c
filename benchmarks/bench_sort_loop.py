"""Sort-loop throughput and accuracy in the digital twin (virtual Marlin on a pty, rendered bricks).

    python benchmarks/bench_sort_loop.py                       # colour-keyed test bundle, painted bricks
    python benchmarks/bench_sort_loop.py --bundle B            # a trained bundle, bricks in real LEGO colours

Prints three figures:
1. zero mechanical time (time scale 0), 3 views per brick: bricks per minute sustained;
2. realistic timing from the rig file: the mechanical bound (sum of the executed moves'
   durations per brick, in the rig's own time) against the loop's measured time per brick,
   (a) run in real time (time scale 1) for a few bricks and (b) at a reduced time scale,
   where the loop's own overhead is measured in wall time and added to the mechanical time;
3. with a trained bundle (--bundle), accuracy on fresh simulated bricks: right bin, rejected.
"""
from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from device.sim.parts import PART_IDS  # noqa: E402
from device.sort.bins_config import BinsConfig, bins_config_from_dict, load_bins_config  # noqa: E402
from device.sort.journal import read_bricks  # noqa: E402
from device.sort.loop import LoopSettings  # noqa: E402
from device.sort.recognise import Recogniser, recogniser_from_bundle  # noqa: E402
from device.sort.session import SessionOptions  # noqa: E402
from device.world.feeder import FeederConfig, palette_brick_factory  # noqa: E402
from device.world.simulated_sort import SimulatedRun, sort_in_twin  # noqa: E402
from device.world.twin import DigitalTwin, TwinConfig  # noqa: E402
from firmware_bridge.rig_config import example_rig_path, load_rig_config  # noqa: E402


def colour_test_setup(folder: Path):
    """The colour-centroid bundle the tests use, its parts painted in their own colours."""
    sys.path.insert(0, str(ROOT / "tests"))
    from sort_sim_bundle import PART_COLOURS, make_sim_bundle

    bundle = make_sim_bundle(folder / "colour-bundle")
    bins = bins_config_from_dict({"reject_bin": 7, "bin": [{"index": i + 1, "parts": [p]} for i, p in enumerate(PART_COLOURS)]})
    return str(bundle.path), bins, palette_brick_factory(PART_COLOURS)


def journal_path(folder: Path, seed: int) -> Path:
    """Where `run_twin` journals the run with feeder seed `seed`."""
    return folder / f"journal-{seed}.sqlite"


def run_twin(recogniser: Recogniser, bins: BinsConfig, factory, bricks: int, time_scale: float, folder: Path, seed: int,
             parts: tuple[str, ...], second_look: bool = True, camera: str = "sim") -> tuple[SimulatedRun, float, float]:
    """Sort `bricks` bricks; returns the run, wall seconds of the sorting, and mechanical seconds of the moves."""
    kwargs = {} if factory is None else {"brick_factory": factory}
    twin = DigitalTwin(
        load_rig_config(example_rig_path()),
        TwinConfig(time_scale=time_scale, feeder=FeederConfig(parts=parts, count=bricks, delay_s=0.0, seed=seed),
                   log_path=folder / f"world-{seed}.jsonl"),
        **kwargs,
    )
    marks: dict[str, float] = {}

    def on_loop(loop):
        # time from the first brick's arrival, not from learning the empty table
        original = loop.sort_one

        def timed():
            marks.setdefault("first", time.perf_counter())
            return original()

        loop.sort_one = timed

    options = SessionOptions(journal=journal_path(folder, seed), settings=LoopSettings(views=3, second_look=second_look), keep_below=0.0)
    run = sort_in_twin(twin, recogniser, bins, options, camera_spec=camera, say=lambda _: None, on_loop=on_loop)
    wall = time.perf_counter() - marks["first"]
    first_turn = next(i for i, m in enumerate(twin.marlin.executed_moves) if m.command.startswith("G1 X"))
    mechanical = sum(m.duration_s for m in twin.marlin.executed_moves[first_turn:])
    return run, wall, mechanical


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", help="trained bundle: also measure accuracy on fresh simulated bricks")
    parser.add_argument("--bins", default=str(ROOT / "device" / "examples" / "bins.toml"))
    parser.add_argument("--bricks", type=int, default=300, help="bricks for the zero-time run (default 300)")
    parser.add_argument("--scaled-bricks", type=int, default=40, help="bricks for the reduced-time-scale run")
    parser.add_argument("--time-scale", type=float, default=0.1)
    parser.add_argument("--real-time-bricks", type=int, default=5, help="bricks sorted in real time (0: skip)")
    parser.add_argument("--accuracy-bricks", type=int, default=500)
    parser.add_argument("--accuracy-seeds", type=int, nargs="+", default=[4], metavar="SEED",
                        help="feeder seeds of the accuracy run, one run of --accuracy-bricks each (default 4)")
    parser.add_argument("--no-second-look", action="store_true", help="reject unsure bricks after their first 3 views")
    parser.add_argument("--camera", default="sim", help="the twin's camera spec for the accuracy run, e.g. sim:size=300 (default sim: 600x600)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-sort-"))
    if args.bundle:
        bundle, factory = args.bundle, None
        recogniser = recogniser_from_bundle(bundle)
        bins = load_bins_config(args.bins)
        parts = tuple(p for p in recogniser.labels if p in PART_IDS)
        what = f"trained bundle {bundle}, bricks in random LEGO colours"
    else:
        bundle, bins, factory = colour_test_setup(folder)
        recogniser = recogniser_from_bundle(bundle)
        parts = tuple(recogniser.labels)
        what = "colour-centroid test bundle, each part painted its own colour"
    meta = f"{recogniser.input_hw[0]}x{recogniser.input_hw[1]}"
    print(f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}; {what}; input {meta}")
    rig = load_rig_config(example_rig_path())
    print(f"rig: {example_rig_path()} (turntable {rig.turntable.speed:g} deg/s, chute {rig.chute.speed:g} deg/s, "
          f"pusher {rig.pusher.stroke_mm:g} mm at {rig.pusher.speed:g} mm/s)")

    run, wall, _ = run_twin(recogniser, bins, factory, args.bricks, 0.0, folder, 1, parts, not args.no_second_look)
    n = run.loop.bricks
    print(f"\n1. zero mechanical time, 3 views: {n} bricks in {wall:.2f} s wall = {60 * n / wall:.0f} bricks/min "
          f"({1000 * wall / n:.1f} ms per brick); reconciliation: {len(run.reconciliation.correct)} right bin, "
          f"unaccounted {len(run.reconciliation.unaccounted)}")

    print("\n2. realistic timing (rig file speeds and accelerations):")
    if args.real_time_bricks:
        run, wall, mech = run_twin(recogniser, bins, factory, args.real_time_bricks, 1.0, folder, 2, parts, not args.no_second_look)
        n = run.loop.bricks
        print(f"   (a) real time, {n} bricks: mechanical bound {mech / n:.3f} s/brick = {60 * n / mech:.1f} bricks/min; "
              f"measured {wall / n:.3f} s/brick = {60 * n / wall:.1f} bricks/min; {100 * mech / wall:.1f}% of the bound")
    s = args.time_scale
    run, wall, mech = run_twin(recogniser, bins, factory, args.scaled_bricks, s, folder, 3, parts, not args.no_second_look)
    n = run.loop.bricks
    overhead = wall - s * mech  # the part of the wall time that was not (scaled) motion
    simulated = mech + overhead  # the same run with motion at real speed and the loop's overhead as measured
    print(f"   (b) time scale {s:g}, {n} bricks: wall {wall:.2f} s, motion {s * mech:.2f} s of it; "
          f"loop overhead {1000 * overhead / n:.1f} ms/brick against {mech / n:.3f} s/brick of motion -> "
          f"{60 * n / simulated:.1f} bricks/min simulated vs bound {60 * n / mech:.1f}: {100 * mech / simulated:.1f}% of the bound")

    for seed in args.accuracy_seeds if args.bundle else ():
        report_accuracy(recogniser, bins, parts, folder, seed, args)
    print(f"\n(journals and world logs in {folder})")


def report_accuracy(recogniser: Recogniser, bins: BinsConfig, parts: tuple[str, ...], folder: Path, seed: int, args) -> None:
    """Sort `args.accuracy_bricks` fresh bricks of feeder `seed` with the bundle; print where they went."""
    folder = folder / "accuracy"  # its own journals: any seed, the timing runs' 1-3 included
    folder.mkdir(exist_ok=True)
    run, _, _ = run_twin(recogniser, bins, None, args.accuracy_bricks, 0.0, folder, seed, parts, not args.no_second_look, args.camera)
    r = run.reconciliation
    total = r.fed
    print(f"\n3. accuracy on {total} fresh simulated bricks (feeder seed {seed}, not the training renders; camera {args.camera}): "
          f"right bin {100 * len(r.correct) / total:.2f}%, wrong bin {100 * len(r.wrong_bin) / total:.2f}%, "
          f"rejected {100 * len(r.rejected) / total:.2f}%, unresolved {len(r.unresolved)}, unaccounted {len(r.unaccounted)}")
    # What the model knew against what the threshold let through: the journal keeps the
    # fused top part of rejected bricks too.
    rows = [row for row in read_bricks(journal_path(folder, seed)) if row.truth is not None]
    top1 = sum(row.decision == row.truth for row in rows)
    rejected_right = sum(row.decision == row.truth for row in rows if row.outcome == "rejected")
    print(f"   fused top-1 part right for {100 * top1 / len(rows):.2f}% of the {len(rows)} journalled bricks, "
          f"rejects included ({rejected_right} of the rejected ones; threshold {recogniser.reject_threshold:.3f})")


if __name__ == "__main__":
    main()
