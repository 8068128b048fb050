"""Where training runs: the strategy's scope, joining a cluster, the precision policy.

The backend branches of training live here (and in backend.py), not in the
training code: on TensorFlow the strategies are `tf.distribute`'s; on JAX,
Keras' `DataParallel` distribution, which is set process-wide.
"""

from __future__ import annotations

import contextlib
import logging

import keras

from audiornn.distribute import backend, multiworker

log = logging.getLogger("audiornn.train")


def scope(name: str, cluster: multiworker.Cluster | None = None):
    """The scope training builds its model in, for a `--strategy`.

    auto: the default device; mirrored: all GPUs (or all logical CPUs);
    multiworker: the cluster in TF_CONFIG (multiworker.py). On TensorFlow these
    are `tf.distribute` strategies; on JAX, mirrored is Keras'
    `keras.distribution.DataParallel` over every device (it has no scope: the
    distribution is set globally); multiworker on JAX is the same over every
    process's devices, once `multiworker.join_jax` has joined the cluster.
    """
    if backend.NAME != "tensorflow":
        if name in ("mirrored", "multiworker"):
            dist = keras.distribution.DataParallel(devices=backend.devices())
            dist.auto_shard_dataset = False  # multiworker: each process feeds its own rows
            keras.distribution.set_distribution(dist)
        return contextlib.nullcontext()
    import tensorflow as tf

    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        cpus = tf.config.list_logical_devices("CPU")
        devices = [d.name for d in gpus] or [d.name for d in cpus]
        return tf.distribute.MirroredStrategy(devices=devices).scope()
    if name == "multiworker":
        return multiworker.strategy(cluster or multiworker.read_cluster()).scope()
    return tf.distribute.get_strategy().scope()


def join(cluster, mixed_precision: bool) -> tuple[int, int]:
    """Joins a JAX cluster and sets the precision; returns the rows of each batch this
    process feeds, (index, count) (TensorFlow splits the batches itself)."""
    shard = (0, 1)
    if cluster and backend.NAME == "jax":
        multiworker.join_jax(cluster)
        shard = (cluster.rank, cluster.size)
    if mixed_precision:
        if backend.gpus():  # bfloat16 compute; the logits (and the regression head) stay float32
            keras.mixed_precision.set_global_policy("mixed_bfloat16")
        else:
            log.warning("--mixed-precision ignored: no GPU is visible")
    return shard


def release() -> None:
    """Undoes what `scope` set process-wide (JAX's distribution), after training."""
    if backend.NAME != "tensorflow":
        keras.distribution.set_distribution(None)
