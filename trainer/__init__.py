"""Workstation side: datasets, audit, leak-free splits, transfer learning, export, evaluation."""
import os
import platform
import sys
import warnings


def _warn_if_tensorflow_came_first() -> None:
    """A script that imported TensorFlow (or Keras) before this package has oneDNN as TensorFlow
    chose: off on x86-64 CPUs without AVX-512 VNNI, where phase 2 then ran 309 s against ~115 s.
    Say so once, with the fix, rather than train slowly in silence."""
    if "tensorflow" not in sys.modules or platform.machine().lower() not in ("x86_64", "amd64"):
        return
    try:
        from tensorflow.python.util import _pywrap_util_port
    except ImportError:  # a TensorFlow without this private probe: nothing to check against
        return
    if not _pywrap_util_port.IsMklEnabled():
        warnings.warn(
            "TensorFlow was imported before bricksort's trainer, so its oneDNN kernels are off on "
            "this CPU and fine-tuning runs 2-3x slower: import trainer (or bricksort) before "
            "tensorflow and keras, or set TF_ENABLE_ONEDNN_OPTS=1 before starting Python.",
            RuntimeWarning,
            stacklevel=2,
        )


# TensorFlow turns its oneDNN kernels on by itself only on CPUs with AVX-512 VNNI or newer; on
# an AVX2 CPU they train phase 2 about 1.8x faster (docs/training-measurements.md, 2026-12-01).
# Read when TensorFlow is first imported, so it is set here, before any of this package imports
# it; a user's own TF_ENABLE_ONEDNN_OPTS=0 still wins.
if "TF_ENABLE_ONEDNN_OPTS" not in os.environ:
    os.environ["TF_ENABLE_ONEDNN_OPTS"] = "1"
    _warn_if_tensorflow_came_first()
