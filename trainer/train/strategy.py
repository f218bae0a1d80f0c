"""Where phase 2 runs: one device, several GPUs, or several machines (TF_CONFIG), and which
of several machines writes the run folder."""
from __future__ import annotations

import json
import os
from pathlib import Path

import tensorflow as tf


def _tf_config(environ: dict[str, str] | None) -> dict:
    raw = (environ if environ is not None else os.environ).get("TF_CONFIG", "")
    if not raw:
        return {}
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"TF_CONFIG is not a JSON object with a 'cluster': {exc}") from None
    if not isinstance(parsed, dict):
        raise ValueError(f"TF_CONFIG is not a JSON object with a 'cluster': {raw[:80]!r}")
    return parsed


def tf_config_workers(environ: dict[str, str] | None = None) -> int:
    """Number of workers TF_CONFIG names (0 when unset); ValueError when it is not valid JSON."""
    cluster = _tf_config(environ).get("cluster", {})
    return len(cluster.get("worker", [])) + len(cluster.get("chief", []))


def worker_run_dir(run_dir: Path, environ: dict[str, str] | None = None) -> Path:
    """The folder this machine writes its run to: `run_dir` on the chief (the "chief" task, or
    worker 0 when TF_CONFIG names none) and on a lone machine; `<run_dir>.worker-<index>` beside
    it on every other worker, so machines sharing storage never write the same file. Each
    worker's folder is a whole run of its own, so `--resume` restarts every worker where it was."""
    if tf_config_workers(environ) < 2:
        return run_dir
    config = _tf_config(environ)
    task = config.get("task", {})
    kind, index = task.get("type"), task.get("index")
    cluster = config["cluster"]
    if kind not in ("chief", "worker") or not isinstance(index, int) or not 0 <= index < len(cluster.get(kind, [])):
        raise ValueError(f"TF_CONFIG's task {task} is not one of its cluster's chief or worker tasks")
    if kind == "chief" or ("chief" not in cluster and index == 0):
        return run_dir
    return run_dir.with_name(f"{run_dir.name}.worker-{index}")


def distribution_strategy() -> tf.distribute.Strategy:
    """MultiWorkerMirroredStrategy when TF_CONFIG names several workers, MirroredStrategy on
    more than one local GPU, else the default (single device) strategy. Make it before
    TensorFlow runs anything: several workers' collective ops can only be set up then."""
    if tf_config_workers() > 1:
        return tf.distribute.MultiWorkerMirroredStrategy()
    if len(tf.config.list_physical_devices("GPU")) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def mixed_precision_policy() -> str:
    """'mixed_float16' when a GPU is present (tensor cores), else 'float32'."""
    return "mixed_float16" if tf.config.list_physical_devices("GPU") else "float32"
