"""`bricksort capture`: the command-line face of a capture session (hardware opened here, work in session.py)."""
from __future__ import annotations

import argparse
from pathlib import Path

from tqdm import tqdm

from device.cameras import make_camera
from device.capture.brick_waiters import DetectorWaiter, EnterWaiter
from device.capture.session import CaptureSettings, plan_capture, run_capture
from device.vision.still import find_brick_in_still
from firmware_bridge.rig import Rig
from firmware_bridge.rig_config import load_rig_config


def settings_from_args(args: argparse.Namespace) -> CaptureSettings:
    """Validated settings; `--resume` must name the session it finishes."""
    if args.resume and not args.session:
        existing = sorted(p.name for p in (Path(args.root) / args.part).glob("*") if p.is_dir())
        raise ValueError(
            "--resume needs --session NAME, the run to finish"
            + (f"; sessions of part {args.part}: {', '.join(existing)}" if existing else "")
        )
    extra = {"session": args.session} if args.session else {}
    return CaptureSettings(
        part=args.part, views=args.views, bricks=args.bricks, settle_s=args.settle, resume=args.resume, **extra
    )


def capture_command(args: argparse.Namespace) -> int:
    """Run a capture from parsed arguments; prints where the images went."""
    settings = settings_from_args(args)
    root = Path(args.root)
    if root.exists() and not root.is_dir():
        raise ValueError(f"--root {root} is a file: give the captures folder (made if missing)")
    plans = plan_capture(settings, root)  # refuses a clash before any hardware moves
    rig_config = load_rig_config(args.rig)
    camera = make_camera(args.camera)
    with camera, Rig(rig_config) as rig:
        rig.enable_steppers()
        camera_info = {"spec": args.camera, "controls": camera.lock_exposure()}
        waiter = EnterWaiter() if args.manual else DetectorWaiter(camera, say=tqdm.write)
        done = sum(settings.views - len(plan.todo) for plan in plans)
        with tqdm(total=settings.views * settings.bricks, initial=done, unit="view", desc=f"part {settings.part}") as bar:
            summary = run_capture(
                settings, plans, camera, rig, root, find_brick_in_still, waiter, camera_info, lambda record: bar.update()
            )
        rig.disable_steppers()
    print(
        f"{summary.written} views written, {summary.skipped} already there, in "
        f"{', '.join(str(root / settings.part / name) for name in summary.sessions)}"
    )
    if summary.undetected:
        print(f"no brick found in {len(summary.undetected)} views (saved, box left empty): {', '.join(summary.undetected)}")
    return 0
