"""Workstation side: datasets, audit, leak-free splits, transfer learning, export, evaluation."""
import os

# TensorFlow turns its oneDNN kernels on by itself only on CPUs with AVX-512 VNNI or newer; on
# an AVX2 CPU they train phase 2 about 1.8x faster (docs/training.md). Read when TensorFlow is
# first imported, so it is set here, before any of this package imports it; a user's own
# TF_ENABLE_ONEDNN_OPTS=0 still wins.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
