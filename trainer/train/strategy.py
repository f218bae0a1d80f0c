"""Where phase 2 runs: one device, several GPUs, or several machines (TF_CONFIG)."""
from __future__ import annotations

import json
import os

import tensorflow as tf


def tf_config_workers(environ: dict[str, str] | None = None) -> int:
    """Number of workers TF_CONFIG names (0 when unset); ValueError when it is not valid JSON."""
    raw = (environ if environ is not None else os.environ).get("TF_CONFIG", "")
    if not raw:
        return 0
    try:
        cluster = json.loads(raw).get("cluster", {})
    except (json.JSONDecodeError, AttributeError) as exc:
        raise ValueError(f"TF_CONFIG is not a JSON object with a 'cluster': {exc}") from None
    return len(cluster.get("worker", [])) + len(cluster.get("chief", []))


def distribution_strategy() -> tf.distribute.Strategy:
    """MultiWorkerMirroredStrategy when TF_CONFIG names several workers, MirroredStrategy on
    more than one local GPU, else the default (single device) strategy."""
    if tf_config_workers() > 1:
        return tf.distribute.MultiWorkerMirroredStrategy()
    if len(tf.config.list_physical_devices("GPU")) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def mixed_precision_policy() -> str:
    """'mixed_float16' when a GPU is present (tensor cores), else 'float32'."""
    return "mixed_float16" if tf.config.list_physical_devices("GPU") else "float32"
