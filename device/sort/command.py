"""`bricksort sort`: wire the rig, camera, model, bins file and journal into the loop (or the digital twin)."""
from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from device.cameras.registry import make_camera, parse_spec
from device.classifier.bundle import Bundle, load_bundle, preprocessing_warning
from device.sort.bins_config import BinsConfig, load_bins_config
from device.sort.journal import format_summary, summarise
from device.sort.loop import LoopSettings
from device.sort.recognise import Recogniser, recogniser_from_bundle
from device.sort.session import SessionOptions, run_session
from device.sort.status import StatusLine
from firmware_bridge.rig_config import load_rig_config


class StopRequest:
    """Ctrl-C / SIGTERM: the first asks the loop to stop after the brick in hand, the second aborts."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._previous: dict[int, object] = {}

    def is_set(self) -> bool:
        """True once a stop was asked for."""
        return self._event.is_set()

    def install(self) -> None:
        """Take over SIGINT and SIGTERM (main thread only)."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)

    def restore(self) -> None:
        """Give the signals back to their previous handlers."""
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self._event.is_set():
            raise KeyboardInterrupt
        self._event.set()
        print(f"\n{signal.Signals(signum).name}: finishing the brick in hand, then stopping (again to abort)", file=sys.stderr)


def colour_check_line(bundle: Bundle, recogniser: Recogniser) -> str:
    """What the colour check will do in this run, for the console."""
    if recogniser.part_colours is not None:
        pairs = sum(map(len, recogniser.part_colours.values()))
        return f"colour check: on ({pairs} part-colour pairs from the training photos; --no-colour-check turns it off)"
    if bundle.metadata.part_colours:
        return "colour check: off (--no-colour-check)"
    return "colour check: off (the bundle records no part colours: export it again to have them)"


def _check_labels(recogniser: Recogniser, bins: BinsConfig) -> None:
    unknown = bins.unknown_parts(recogniser.labels)
    if unknown:
        print(f"warning: the bins file lists parts this model does not know: {', '.join(unknown)}")
    unmapped = bins.unmapped_labels(recogniser.labels)
    if unmapped:
        print(f"note: parts with no bin go to bin {bins.unmapped_bin}: {', '.join(unmapped)}")


def _twin(args: argparse.Namespace, rig_config, labels: list[str]):
    from device.world.feeder import FeederConfig
    from device.world.twin import DigitalTwin, TwinConfig
    from device.world.world import WorldFaults
    from firmware_bridge.virtual_marlin import FaultConfig

    serial_faults = None
    if args.sim_corrupt:
        serial_faults = FaultConfig(corrupt_to_host=args.sim_corrupt, corrupt_to_firmware=args.sim_corrupt, seed=args.sim_seed)
    config = TwinConfig(
        time_scale=args.time_scale,
        feeder=FeederConfig(
            parts=tuple(args.sim_parts or labels), count=args.sim_bricks, seed=args.sim_seed, delay_s=args.sim_feed_delay
        ),
        faults=WorldFaults(jam_probability=args.sim_jam, seed=args.sim_seed),
        serial_faults=serial_faults,
        log_path=args.sim_log or Path(f"{args.journal}.world.jsonl"),
    )
    return DigitalTwin(rig_config, config)


def sort_command(args: argparse.Namespace) -> int:
    """Run the sort loop until stopped; prints the journal summary (and, simulated, the check against the world)."""
    camera_spec = args.camera or ("sim" if args.simulate else None)
    if camera_spec is None:
        raise ValueError("--camera is required (or --simulate to sort simulated bricks)")
    if parse_spec(camera_spec)[0] == "sim" and not args.simulate:
        raise ValueError("camera 'sim' shows the digital twin: add --simulate")
    if args.time_scale < 0:
        raise ValueError(f"--time-scale must be >= 0, got {args.time_scale}")
    options = SessionOptions(
        journal=args.journal,
        settings=LoopSettings(views=args.views, second_look=not args.no_second_look, max_bricks=args.max_bricks, idle_timeout_s=args.idle_timeout_s),
        review_dir=args.review_dir,
        keep_below=args.keep_below,
        info={"bundle": str(args.bundle), "camera": camera_spec, "simulated": args.simulate},
    )
    rig_config = load_rig_config(args.rig)
    bins = load_bins_config(args.bins, chute_positions=rig_config.chute.bins)
    bundle = load_bundle(args.bundle)
    warning = preprocessing_warning(bundle.metadata)
    if warning:
        print(warning)
    recogniser = recogniser_from_bundle(bundle, args.threads, colour_check=not args.no_colour_check)
    print(colour_check_line(bundle, recogniser))
    _check_labels(recogniser, bins)
    stop = StopRequest()
    stop.install()
    try:
        if args.simulate:
            from device.world.accounting import format_reconciliation
            from device.world.simulated_sort import sort_in_twin

            twin = _twin(args, rig_config, recogniser.labels)
            print(f"digital twin: virtual Marlin on a pty, time scale {args.time_scale:g}, world log {twin.config.log_path}")
            run = sort_in_twin(
                twin, recogniser, bins, options, camera_spec=camera_spec, status=StatusLine(bins), should_stop=stop.is_set
            )
            result = run.loop
            reason = "the feeder is empty" if twin.world.feeder_done() else result.reason
        else:
            result = run_session(
                rig_config, make_camera(camera_spec), recogniser, bins, options, status=StatusLine(bins), should_stop=stop.is_set
            )
            reason = result.reason
    finally:
        stop.restore()
    print(f"stopped: {reason}; {result.bricks} brick(s) this run, {result.reconnects} reconnect(s)")
    print(format_summary(summarise(args.journal), args.journal))
    if args.simulate:
        print("checked against the simulated world: " + format_reconciliation(run.reconciliation))
    return 1 if result.reason == "jammed" else 0
