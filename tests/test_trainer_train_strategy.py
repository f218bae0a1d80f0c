"""Where phase 2 runs: TF_CONFIG is read as documented; phase 2 trains and checkpoints under a
MirroredStrategy of two replicas (two logical CPU devices standing in for two GPUs) and under a
MultiWorkerMirroredStrategy of two worker processes on this host (standing in for two machines),
each worker writing its own run folder."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from trainer.train.strategy import tf_config_workers, worker_run_dir

HELPER = Path(__file__).resolve().parent / "mirrored_phase2.py"
WORKER = Path(__file__).resolve().parent / "multi_worker_phase2.py"


def _tf_config(cluster: dict, kind: str, index: int) -> dict[str, str]:
    return {"TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": kind, "index": index}})}


def test_tf_config_counts_the_workers_and_the_chief():
    assert tf_config_workers({}) == 0
    cluster = {"cluster": {"chief": ["a:1"], "worker": ["b:1", "c:1"]}, "task": {"type": "worker", "index": 0}}
    assert tf_config_workers({"TF_CONFIG": json.dumps(cluster)}) == 3


def test_a_tf_config_that_is_not_json_is_refused_with_what_was_wrong():
    for wrong in ("workers: a, b", '["ws1:1", "ws2:1"]'):
        with pytest.raises(ValueError, match="TF_CONFIG is not a JSON object"):
            tf_config_workers({"TF_CONFIG": wrong})


@pytest.mark.heavy
def test_phase_2_trains_under_a_mirrored_strategy_of_two_replicas(tmp_path):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    done = subprocess.run([sys.executable, str(HELPER), str(tmp_path)], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["replicas"] == [2, 2]  # one strategy per run
    assert result["fitted_under"] == [1, 2, 1, 2]  # phase 1's head alone, phase 2 on both replicas
    for run in result["runs"].values():
        assert run == {"epochs_done": {"phase1": 2, "phase2": 4}, "best_weights": True}
    assert "phase 2 weight average of epochs 3-4" in done.stdout  # the average ran under the strategy too


def test_the_chief_writes_the_run_folder_and_every_other_worker_one_beside_it():
    run = Path("runs/v2")
    workers = {"worker": ["ws1:1", "ws2:1", "ws3:1"]}
    assert worker_run_dir(run, {}) == run
    assert worker_run_dir(run, _tf_config(workers, "worker", 0)) == run  # no chief task: worker 0 is the chief
    assert worker_run_dir(run, _tf_config(workers, "worker", 2)) == Path("runs/v2.worker-2")
    with_chief = {"chief": ["ws0:1"], **workers}
    assert worker_run_dir(run, _tf_config(with_chief, "chief", 0)) == run
    assert worker_run_dir(run, _tf_config(with_chief, "worker", 0)) == Path("runs/v2.worker-0")


def test_a_task_the_cluster_does_not_hold_is_refused():
    workers = {"worker": ["ws1:1", "ws2:1"]}
    for kind, index in (("worker", 2), ("ps", 0), ("worker", "1")):
        with pytest.raises(ValueError, match="not one of its cluster's chief or worker tasks"):
            worker_run_dir(Path("runs/v2"), _tf_config(workers, kind, index))


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for each in sockets:
        each.bind(("localhost", 0))
    ports = [each.getsockname()[1] for each in sockets]
    for each in sockets:
        each.close()
    return ports


def _weights(path: Path) -> dict[str, np.ndarray]:
    arrays: dict[str, np.ndarray] = {}
    with h5py.File(path) as saved:
        saved.visititems(lambda name, item: arrays.__setitem__(name, item[()]) if isinstance(item, h5py.Dataset) else None)
    return arrays


@pytest.mark.heavy
def test_phase_2_trains_on_two_workers_that_share_each_step_and_write_their_own_folders(tmp_path):
    from tiny_training import calibrated_backbone_file

    calibrated_backbone_file(tmp_path)  # where the workers look for it
    cluster = {"worker": [f"localhost:{port}" for port in _free_ports(2)]}
    workers = [
        subprocess.Popen(
            [sys.executable, str(WORKER), str(tmp_path)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", **_tf_config(cluster, "worker", index)),
        )
        for index in range(2)
    ]
    outputs = [worker.communicate(timeout=300) for worker in workers]
    for worker, (_, stderr) in zip(workers, outputs):
        assert worker.returncode == 0, stderr[-3000:]
    chief, other = (json.loads(stdout.strip().splitlines()[-1]) for stdout, _ in outputs)
    assert Path(chief["run_dir"]) == tmp_path / "runs" / "cached"
    assert Path(other["run_dir"]) == tmp_path / "runs" / "cached.worker-1"
    for run in (chief, other):
        assert run["epochs_done"] == {"phase1": 2, "phase2": 3}
        assert run["replicas"] == [1, 2]  # phase 1's head alone on each machine, phase 2 across both
    # Each worker takes half of each global batch of 8 (the training set is distributed first),
    # and a different half ...
    shares = chief["first_labels"][0], other["first_labels"][0]
    assert [len(share) for share in shares] == [4, 4] and shares[0] != shares[1]
    # ... yet both end with the same weights: every step's gradients were averaged across them.
    ours, theirs = (_weights(Path(run["run_dir"]) / "best.weights.h5") for run in (chief, other))
    assert ours.keys() == theirs.keys()
    assert all(np.allclose(ours[key], theirs[key], atol=1e-6) for key in ours)
