"""`fit` under MultiWorkerMirroredStrategy, which Keras 3 breaks in two places
(keras-team/keras#20585, open as of Keras 3.15):

- before the first step, `fit` takes a batch to build the model and averages it across
  workers with `strategy.reduce` on the whole (x, y, weights) tuple, which a multi-worker
  strategy cannot convert ("Attempt to convert a value (PerReplica ...)");
- after each step it averages the scalar loss and metrics with `axis=0`, which a 0-d value
  does not have ("Invalid reduction dimension 0").

`multi_worker_fit` patches both while it is open, and only under a multi-worker strategy: the
model is built from this worker's own share of the batch (only shapes and dtypes are read),
and scalars are averaged across workers whole. Each patch checks that the Keras internal it
replaces is still there, so an upgrade that moved it fails here, by name.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import tensorflow as tf
from keras.src import tree
from keras.src.backend.tensorflow import trainer as keras_tf_trainer


def _spans_workers(strategy: tf.distribute.Strategy) -> bool:
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return False
    spec = strategy.cluster_resolver.cluster_spec()
    return sum(spec.num_tasks(job) for job in spec.jobs) > 1


def _local(value, strategy: tf.distribute.Strategy):
    """This worker's first replica's part of a distributed value (a plain value unchanged)."""
    if isinstance(value, tf.distribute.DistributedValues):
        return strategy.experimental_local_results(value)[0]
    return value


@contextmanager
def multi_worker_fit(strategy: tf.distribute.Strategy) -> Iterator[None]:
    """Within this block, `keras.Model.fit` works under `strategy` when it spans several workers
    (see the module docstring); under any other strategy it changes nothing."""
    if not _spans_workers(strategy):
        yield
        return
    trainer_class = keras_tf_trainer.TensorFlowTrainer
    for owner, name in (
        (trainer_class, "_maybe_symbolic_build"),
        (keras_tf_trainer, "reduce_per_replica"),
    ):
        if not hasattr(owner, name):
            raise RuntimeError(
                f"this Keras ({keras_tf_trainer.__name__}) has no {name}: multi-worker training was written against "
                "Keras 3.15's internals (keras-team/keras#20585); train on one machine or pin keras"
            )
    build, reduce_per_replica = trainer_class._maybe_symbolic_build, keras_tf_trainer.reduce_per_replica

    def build_from_local_batch(self, iterator=None, data_batch=None):
        if iterator is not None:
            for _, _, batches in iterator:
                data_batch = tree.map_structure(lambda value: _local(value, self.distribute_strategy), next(batches))
                break
        return build(self, data_batch=data_batch)

    def reduce_scalars_whole(values, strategy, reduction):
        def reduce(value):
            if reduction in ("auto", "mean") and len(_local(value, strategy).shape) == 0:
                return strategy.reduce("MEAN", value, axis=None)
            return reduce_per_replica(value, strategy, reduction)

        return tree.map_structure(reduce, values)

    trainer_class._maybe_symbolic_build = build_from_local_batch
    keras_tf_trainer.reduce_per_replica = reduce_scalars_whole
    try:
        yield
    finally:
        trainer_class._maybe_symbolic_build = build
        keras_tf_trainer.reduce_per_replica = reduce_per_replica
