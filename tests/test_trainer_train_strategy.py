"""Where phase 2 runs: TF_CONFIG is read as documented, and phase 2 trains and checkpoints
under a MirroredStrategy of two replicas (two logical CPU devices standing in for two GPUs)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from trainer.train.strategy import tf_config_workers

HELPER = Path(__file__).resolve().parent / "mirrored_phase2.py"


def test_tf_config_counts_the_workers_and_the_chief():
    assert tf_config_workers({}) == 0
    cluster = {"cluster": {"chief": ["a:1"], "worker": ["b:1", "c:1"]}, "task": {"type": "worker", "index": 0}}
    assert tf_config_workers({"TF_CONFIG": json.dumps(cluster)}) == 3


def test_a_tf_config_that_is_not_json_is_refused_with_what_was_wrong():
    with pytest.raises(ValueError, match="TF_CONFIG is not a JSON object"):
        tf_config_workers({"TF_CONFIG": "workers: a, b"})


def test_phase_2_trains_under_a_mirrored_strategy_of_two_replicas(tmp_path):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    done = subprocess.run([sys.executable, str(HELPER), str(tmp_path)], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["replicas"] == [2, 2]  # one strategy per phase 2
    assert result["fitted_under"] == [1, 2, 1, 2]  # phase 1's head alone, phase 2 on both replicas
    for run in result["runs"].values():
        assert run == {"epochs_done": {"phase1": 2, "phase2": 4}, "best_weights": True}
    assert "phase 2 weight average of epochs 3-4" in done.stdout  # the average ran under the strategy too
