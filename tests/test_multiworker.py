"""--strategy multiworker: TF_CONFIG is checked, and two real worker processes on loopback
train one run that equals one process training on the whole batch, on TensorFlow
(MultiWorkerMirroredStrategy) and on JAX (keras.distribution over Gloo)."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from helpers import sine_dataset

from audiornn.cli import train
from audiornn.distribute.multiworker import loopback_configs, read_cluster, run_dir_for
from audiornn.errors import AudioRNNError

ARGS = ["--window", "64", "--burn-in", "4", "--units", "8", "--layers", "1", "--core", "flat",
        "--batch-size", "4", "--steps-per-epoch", "2", "--seed", "3"]


def tf_config(workers, index, kind="worker", chief=None):
    cluster = {"worker": workers, **({"chief": [chief]} if chief else {})}
    return json.dumps({"cluster": cluster, "task": {"type": kind, "index": index}})


@pytest.mark.parametrize("text,words", [
    (None, "needs TF_CONFIG"),
    ("{not json", "not valid JSON"),
    ('{"task": {"type": "worker", "index": 0}}', '"cluster"'),
    ('{"cluster": {"ps": ["a:1"], "worker": ["b:2"]}, "task": {"type": "worker", "index": 0}}',
     "only chief and worker"),
    ('{"cluster": {"worker": ["hostA"]}, "task": {"type": "worker", "index": 0}}', "host:port"),
    ('{"cluster": {"worker": []}, "task": {"type": "worker", "index": 0}}', "no workers"),
    ('{"cluster": {"worker": ["a:1", "a:1"]}, "task": {"type": "worker", "index": 0}}', "share"),
    ('{"cluster": {"worker": ["a:1", "b:1"]}}', '"task"'),
    ('{"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 2}}',
     "outside the cluster"),
    ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": true}}', '"task"'),
])
def test_bad_tf_config_is_one_clear_error(text, words):
    with pytest.raises(AudioRNNError, match=words):
        read_cluster({} if text is None else {"TF_CONFIG": text})


def test_the_chief_writes_the_run_and_every_other_worker_its_own_copy(tmp_path):
    two = ["h1:1", "h2:2"]
    assert run_dir_for(tmp_path, read_cluster({"TF_CONFIG": tf_config(two, 0)})) == tmp_path
    assert run_dir_for(tmp_path, read_cluster({"TF_CONFIG": tf_config(two, 1)})) == tmp_path / "workers/1"
    with_chief = {"TF_CONFIG": tf_config(two, 0, chief="h0:3")}
    assert read_cluster(with_chief).rank == 1 and not read_cluster(with_chief).is_chief
    chief = read_cluster({"TF_CONFIG": tf_config(two, 0, kind="chief", chief="h0:3")})
    assert chief.is_chief and chief.size == 3 and chief.address == "h0:3"


def test_cli_refuses_a_bad_tf_config_in_one_line(tmp_path, capsys, monkeypatch):
    ds = sine_dataset(tmp_path, seconds=(0.5,), rate=8000)
    monkeypatch.setenv("TF_CONFIG", "{oops")
    rc = train.main([str(ds), "--run", str(tmp_path / "run"), "--strategy", "multiworker", "-q"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and "TF_CONFIG: not valid JSON" in err, err
    assert not (tmp_path / "run").exists()


def env_for(backend, **extra):
    return {**os.environ, "KERAS_BACKEND": backend, "JAX_PLATFORMS": "cpu",
            "PYTHONUNBUFFERED": "1", **extra}


def two_workers(ds, run, extra, tmp_path, backend, expect=0):
    """Runs `train` as worker 0 and worker 1 of a loopback cluster; returns their output.

    `extra`: both workers' further arguments, or a pair of lists (one per worker).
    """
    configs = loopback_configs(2)
    procs, logs = [], []
    for i in range(2):
        mine = extra[i] if isinstance(extra, tuple) else extra
        log = open(tmp_path / f"worker{i}.log", "w+")
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "audiornn", "train", str(ds), "--run", str(run), *ARGS, *mine,
             "--strategy", "multiworker", "-q"], env=env_for(backend, TF_CONFIG=configs[i]),
            stdout=log, stderr=subprocess.STDOUT))
        logs.append(log)
    try:
        codes = [p.wait(timeout=300) for p in procs]
    finally:
        for p in procs:
            p.kill()
    outs = []
    for log in logs:
        log.seek(0)
        outs.append(log.read())
        log.close()
    assert codes == [expect, expect], "\n".join(outs)
    return outs


def history(run: Path):
    """history.csv's rows without `minutes` (each process keeps its own clock)."""
    with open(run / "history.csv") as f:
        return [{k: v for k, v in r.items() if k != "minutes"} for r in csv.DictReader(f)]


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_two_worker_processes_train_one_run_equal_to_one_process(tmp_path, backend):
    if backend == "jax":
        pytest.importorskip("jax", reason="jax is a dev package (pipenv sync --dev)")
    ds = sine_dataset(tmp_path, seconds=(1.0, 0.5), rate=8000)
    run = tmp_path / "run"
    outs = two_workers(ds, run, ["--epochs", "2"], tmp_path, backend)
    for i, out in enumerate(outs):
        assert "Traceback" not in out and "I0000" not in out and "cluster_spec" not in out, out
        assert "JAX distributed service" not in out, out
        assert f"worker {i} of 2" in out
    assert f"run written to {run}:" in outs[0] and f"run written to {run / 'workers/1'}:" in outs[1]

    # one synchronized model: the worker's copy holds the chief's weights and history
    chief = keras.saving.load_model(run / "model.keras")
    copy = keras.saving.load_model(run / "workers/1/model.keras")
    for a, b in zip(chief.get_weights(), copy.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert history(run) == history(run / "workers/1")

    # ... and it is what one process computes from the whole batch (each worker had half)
    alone = tmp_path / "alone"
    subprocess.run([sys.executable, "-m", "audiornn", "train", str(ds), "--run", str(alone), *ARGS,
                    "--epochs", "2", "-q"], env=env_for(backend), check=True, timeout=300)
    assert [r["epoch"] for r in history(run)] == ["0", "1"]
    for mine, ref in zip(history(run), history(alone)):
        for key in ("loss", "bits", "val_loss", "val_bits"):
            assert float(mine[key]) == pytest.approx(float(ref[key]), rel=1e-5), key
    for a, b in zip(chief.get_weights(), keras.saving.load_model(alone / "model.keras").get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)

    # both resume from their own backups, and --max-minutes stops them at the same epoch
    two_workers(ds, run, ["--epochs", "6", "--max-minutes", "1e-4", "--resume"], tmp_path, backend)
    assert [r["epoch"] for r in history(run)] == ["0", "1", "2"]
    assert history(run) == history(run / "workers/1")


def test_workers_started_with_different_settings_stop_with_one_line(tmp_path):
    """Rather than wait forever on collectives that never match."""
    ds = sine_dataset(tmp_path, seconds=(1.0, 0.5), rate=8000)
    run = tmp_path / "run"
    outs = two_workers(ds, run, (["--epochs", "1"], ["--epochs", "2"]), tmp_path, "tensorflow", expect=2)
    for out in outs:
        lines = [ln for ln in out.splitlines() if ln.strip() and "waiting for the others" not in ln]
        assert len(lines) == 1 and "the 2 workers differ in settings or data" in lines[0], out
    assert not list(run.rglob("*.json")) and not list(run.rglob("*.keras"))


def test_a_keras_without_the_internals_multiworker_needs_is_a_clear_error():
    from audiornn.distribute import multiworker
    from audiornn.errors import AudioRNNError

    class NotThatKeras:
        pass

    with pytest.raises(AudioRNNError, match="internals of Keras 3.10-3.15"):
        multiworker.adapt(NotThatKeras(), None)
