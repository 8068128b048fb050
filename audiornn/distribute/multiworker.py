"""`--strategy multiworker`: one training run over several processes or hosts.

(TensorFlow below; on JAX, `join_jax` and `keras.distribution` do the same job.)

The cluster comes from TF_CONFIG, TensorFlow's own description of it: every
worker's host:port, and which one this process is. Each process runs the same
`train` command; `--batch-size` is the global batch, and each step every worker
trains on its share of it, with the gradients summed over the network by
`tf.distribute.MultiWorkerMirroredStrategy`. The result equals one process
training on the whole batch.

Worker 0 (or the task of type "chief", if the cluster has one) writes the run
at `--run`. Every other worker writes the same run, its own synchronized copy,
to `RUN/workers/N`: all workers run the same callbacks, so none waits on a
collective operation that another skipped, and each can `--resume` from its own
backup. Decisions that could differ between workers are made together:
`agree` checks that every worker has the same settings and data before any
weights are shared, and `any_worker` makes `--max-minutes` stop all of them
after the same epoch.

Keras 3's TensorFlow trainer (3.15) assumes one process in two places, and
`adapt` fills both gaps for one model:
- before the first step, `fit` reduces a whole input batch (a dict of
  per-replica tensors) with `strategy.reduce`, which CollectiveAllReduce
  refuses ("Attempt to convert a value ({'prev': PerReplica...}) ... to a
  Tensor"). The model, its optimizer and its metrics are built here from one
  local batch instead, as Keras does for a single process.
- each step's logs (scalars) are averaged over workers with
  `strategy.reduce("MEAN", axis=0)`, which needs an axis ("Invalid reduction
  dimension 0 for input with 0 dimensions"); the steps here return them with
  one.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
import os
import socket
from pathlib import Path

import numpy as np

from audiornn.errors import AudioRNNError

log = logging.getLogger("audiornn.multiworker")


@dataclasses.dataclass(frozen=True)
class Cluster:
    """This process's place in the TF_CONFIG cluster."""

    tasks: tuple[tuple[str, str], ...]  # (type, host:port) of every task, chief first
    task_type: str
    index: int

    @property
    def size(self) -> int:
        return len(self.tasks)

    @property
    def rank(self) -> int:
        """0 for the chief (the task of type "chief", else worker 0), then 1, 2, ..."""
        return self.tasks.index((self.task_type, self.address))

    @property
    def address(self) -> str:
        return [a for kind, a in self.tasks if kind == self.task_type][self.index]

    @property
    def is_chief(self) -> bool:
        return self.rank == 0


def read_cluster(environ=None) -> Cluster:
    """Parses and checks TF_CONFIG; every problem is a one-line AudioRNNError."""
    environ = os.environ if environ is None else environ
    text = environ.get("TF_CONFIG")
    if not text:
        raise AudioRNNError("--strategy multiworker needs TF_CONFIG describing the cluster, e.g. "
                            'TF_CONFIG=\'{"cluster": {"worker": ["hostA:23456", "hostB:23456"]}, '
                            '"task": {"type": "worker", "index": 0}}\'')
    try:
        cfg = json.loads(text)
    except ValueError as e:
        raise AudioRNNError(f"TF_CONFIG: not valid JSON ({e})") from None
    if not isinstance(cfg, dict) or not isinstance(cfg.get("cluster"), dict):
        raise AudioRNNError('TF_CONFIG: needs a "cluster" object, e.g. {"worker": ["hostA:23456", ...]}')
    cluster, task = cfg["cluster"], cfg.get("task")
    unknown = set(cluster) - {"chief", "worker"}
    if unknown:
        raise AudioRNNError(f"TF_CONFIG: cluster holds {', '.join(sorted(unknown))}; "
                            "multiworker training takes only chief and worker tasks")
    tasks = []
    for role in ("chief", "worker"):
        addrs = cluster.get(role, [])
        if not isinstance(addrs, list) or not all(isinstance(a, str) and a.rpartition(":")[2].isdigit()
                                                  for a in addrs):
            raise AudioRNNError(f'TF_CONFIG: cluster "{role}" must be a list of "host:port" strings')
        if role == "chief" and len(addrs) > 1:
            raise AudioRNNError("TF_CONFIG: a cluster has at most one chief")
        tasks += [(role, a) for a in addrs]
    if not tasks:
        raise AudioRNNError("TF_CONFIG: the cluster lists no workers")
    if len({a for _, a in tasks}) < len(tasks):
        raise AudioRNNError("TF_CONFIG: two tasks share a host:port")
    if not isinstance(task, dict) or task.get("type") not in ("chief", "worker") \
            or not isinstance(task.get("index"), int) or isinstance(task.get("index"), bool):
        raise AudioRNNError('TF_CONFIG: needs "task": {"type": "worker", "index": N}, this process\'s place')
    n = len(cluster.get(task["type"], []))
    if not 0 <= task["index"] < n:
        raise AudioRNNError(f'TF_CONFIG: task index {task["index"]} is outside the cluster\'s '
                            f'{n} "{task["type"]}" task(s)')
    return Cluster(tuple(tasks), task["type"], task["index"])


def run_dir_for(run_dir, cluster: Cluster | None) -> Path:
    """The chief (or a single process) writes the run at `run_dir`; worker rank N
    its copy at run_dir/workers/N."""
    if cluster is None or cluster.is_chief:
        return Path(run_dir)
    return Path(run_dir) / "workers" / str(cluster.rank)


def loopback_configs(n: int) -> list[str]:
    """TF_CONFIG texts for n workers on free ports of 127.0.0.1 (one per process)."""
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    workers = [f"127.0.0.1:{s.getsockname()[1]}" for s in socks]
    for s in socks:
        s.close()
    return [json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": i}})
            for i in range(n)]


def strategy(cluster: Cluster):
    """Connects to the other workers (blocks until every one has started)."""
    import tensorflow as tf

    logging.getLogger("tensorflow").setLevel(logging.WARNING)  # its cluster_spec INFO line
    log.info("worker %d of %d (%s): waiting for the others", cluster.rank, cluster.size, cluster.address)
    return tf.distribute.MultiWorkerMirroredStrategy()


def join_jax(cluster: Cluster) -> None:
    """JAX: joins the cluster through `keras.distribution.initialize` (before any JAX
    computation); training then runs `keras.distribution.DataParallel` over every
    process's devices, each process feeding its share of every batch. The first task
    in TF_CONFIG (the chief) is the coordinator. On CPUs the gradients travel by Gloo.
    """
    import jax
    import keras

    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    logging.getLogger("jax").setLevel(logging.WARNING)  # its "Connecting to ..." lines
    log.info("worker %d of %d (%s): waiting for the others", cluster.rank, cluster.size, cluster.address)
    keras.distribution.initialize(",".join(a for _, a in cluster.tasks), cluster.size, cluster.rank)


def is_multiworker(model) -> bool:
    """Whether `model` trains under a TensorFlow MultiWorkerMirroredStrategy."""
    return _in_cluster(getattr(model, "distribute_strategy", None))  # TensorFlow models only


def _in_cluster(strategy) -> bool:
    """Whether `strategy` is a TensorFlow MultiWorkerMirroredStrategy over several workers."""
    if strategy is None or "tensorflow" not in type(strategy).__module__:
        return False
    import tensorflow as tf

    return (isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
            and bool(strategy.extended._in_multi_worker_mode()))


def adapt(model, batch) -> None:
    """Lets `model.fit` run under a MultiWorkerMirroredStrategy (see the module's docstring).

    `batch`: one (x, y, sample_weight) batch of numpy arrays; only its shapes are used.
    """
    import keras
    from keras import ops

    if not (hasattr(model, "_symbolic_build") and hasattr(model, "_maybe_symbolic_build")):
        raise AudioRNNError(f"--strategy multiworker on TensorFlow relies on internals of Keras "
                            f"3.10-3.15 (Model._symbolic_build); this is Keras {keras.__version__}: "
                            "install the locked versions (pipenv sync) or use KERAS_BACKEND=jax")
    with model.distribute_strategy.scope():
        model._symbolic_build(data_batch=batch)  # what fit's own pre-build does for one process
    model._maybe_symbolic_build = lambda iterator=None, data_batch=None: None

    def with_axis(step):
        def wrapped(data):
            return {k: ops.reshape(v, (1,)) for k, v in step(data).items()}
        return wrapped

    model.train_step = with_axis(model.train_step)
    model.test_step = with_axis(model.test_step)


def agree(settings: str, what: str) -> None:
    """Raises the same one-line error on every worker when their `settings` differ.

    Called before anything is shared: workers built from different options or
    data would otherwise wait forever on collectives that never match. Runs in
    the strategy's scope (TensorFlow) or after `join_jax` (JAX); a no-op for a
    single process.
    """
    digest = np.frombuffer(hashlib.sha256(settings.encode()).digest()[:8], np.int32)
    everyone = _everyone(digest)
    if everyone is not None and (everyone != everyone[0]).any():
        raise AudioRNNError(f"the {len(everyone)} workers differ in {what}: start every worker "
                            "with the same command (TF_CONFIG's index aside) and the same dataset")


def any_worker(model, flag: bool) -> bool:
    """True on every worker when `flag` is true on any (a decision all must share)."""
    everyone = _everyone(np.array([flag], np.float32), getattr(model, "distribute_strategy", None))
    return flag if everyone is None else bool(everyone.any())


def _everyone(value: np.ndarray, strategy=None) -> np.ndarray | None:
    """Every worker's `value`, one row each; None for a single process.

    TensorFlow: `strategy` (default: the one in scope) must span the workers.
    """
    import keras

    if keras.backend.backend() == "jax":
        import jax

        if jax.process_count() == 1:
            return None
        from jax.experimental import multihost_utils

        gathered = multihost_utils.process_allgather(value)
    else:
        import tensorflow as tf

        strategy = strategy or tf.distribute.get_strategy()
        if not _in_cluster(strategy):
            return None
        gathered = _gather(strategy)(tf.constant(value))
    return np.asarray(gathered).reshape(-1, value.size)


@functools.cache
def _gather(strategy):
    """A compiled gather of every replica's value along axis 0 (eager collectives are
    slow and warn)."""
    import tensorflow as tf

    @tf.function
    def gathered(x):
        return strategy.gather(strategy.run(lambda: tf.identity(x)), axis=0)

    return gathered
