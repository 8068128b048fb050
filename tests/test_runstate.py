"""Kill-safe runs: a SIGKILL at each dangerous moment, a resume that continues, one trainer per run."""

import csv
import json
import os
import signal
import socket
import subprocess
import sys

import numpy as np
import pytest
from helpers import sine_dataset

from audiornn.runtime.model import load_run

EPOCHS = 4


def cmd(ds, run, *extra):
    # The step size is pinned: the resumed run's small floating-point differences grow with
    # it, and the tolerances below were measured at 0.001 (the job's default is larger).
    return [sys.executable, "-m", "audiornn", "train", str(ds), "--run", str(run), "--epochs",
            str(EPOCHS), "--steps-per-epoch", "4", "--window", "128", "--burn-in", "8", "--units",
            "16", "--layers", "1", "--batch-size", "4", "--patience", "100",
            "--learning-rate", "0.001", "-q", *extra]


def train_proc(args, kill_at=None):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("AUDIORNN_KILL_AT", None)
    if kill_at:
        env["AUDIORNN_KILL_AT"] = kill_at
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=600)


def history(run):
    with open(run / "history.csv", newline="") as f:
        return list(csv.DictReader(f))


def partials(run):
    return sorted(str(p.relative_to(run)) for p in run.rglob(".*") if p.name != ".lock"
                  and p.is_file())


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    return sine_dataset(tmp_path_factory.mktemp("runstate"), seconds=(2.0, 0.5), rate=8000)


@pytest.fixture(scope="module")
def straight(ds, tmp_path_factory):
    """An uninterrupted run, to compare the resumed ones with."""
    run = tmp_path_factory.mktemp("straight") / "run"
    r = train_proc(cmd(ds, run))
    assert r.returncode == 0, r.stderr[-2000:]
    return run


@pytest.mark.parametrize("point", ["weights", "state", "model"])
def test_sigkill_at_each_dangerous_moment_then_resume(ds, straight, tmp_path, point):
    run = tmp_path / "run"
    # Killed in epoch 1's end: while writing the backup's weights, right after the backup's
    # state, or while writing model.keras (each a SIGKILL from inside the process).
    r = train_proc(cmd(ds, run), kill_at=f"{point}:1")
    assert r.returncode == -signal.SIGKILL, r.stderr[-2000:]
    load_run(run)  # the published model is complete
    done = [int(row["epoch"]) for row in history(run)]
    assert done == [0]  # only complete epochs are in the history
    state = json.loads((run / "backup" / "state.json").read_text())
    assert state["epoch"] == (2 if point == "state" else 1)
    assert (run / "backup" / state["weights"]).exists()
    r = train_proc(cmd(ds, run, "--resume"))
    assert r.returncode == 0, r.stderr[-2000:]
    rows = history(run)
    assert [int(row["epoch"]) for row in rows] == list(range(EPOCHS))  # each epoch once
    assert partials(run) == [], partials(run)  # nothing half-written is left
    assert not (run / ".lock").exists()
    load_run(run)
    # Same seed, same windows, the weights and Adam's state restored bit for bit: the same
    # training, up to the floating-point order of the new process's freshly built kernels
    # (measured: losses within 3e-4 relative, weights within 7e-3 after 3 resumed epochs).
    ref = history(straight)
    gaps = [abs(float(g["loss"]) / float(w["loss"]) - 1) for g, w in zip(rows, ref)]
    a, _ = load_run(run)
    b, _ = load_run(straight)
    worst = max(float(np.max(np.abs(x - y))) for x, y in zip(a.get_weights(), b.get_weights()))
    assert max(gaps) < 2e-3 and worst < 2e-2, (gaps, worst)


def test_resume_of_a_finished_run_continues(ds, straight, tmp_path):
    run = tmp_path / "run"
    r = train_proc(cmd(ds, run))
    assert r.returncode == 0
    args = cmd(ds, run, "--resume")
    args[args.index("--epochs") + 1] = str(EPOCHS + 2)
    r = train_proc(args)
    assert r.returncode == 0, r.stderr[-2000:]
    rows = history(run)
    assert [int(row["epoch"]) for row in rows] == list(range(EPOCHS + 2))
    # It went on from the last weights: the first new epoch is nothing like a fresh start.
    losses = [float(row["loss"]) for row in rows]
    assert losses[EPOCHS] < losses[0] - 0.5 * (losses[0] - losses[EPOCHS - 1])
    r = train_proc(args)  # nothing left to do: says so, changes nothing
    assert r.returncode == 0 and "already" in r.stdout + r.stderr
    assert len(history(run)) == EPOCHS + 2


def test_one_trainer_per_run_and_a_dead_ones_lock_is_taken_over(ds, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (run / ".lock").write_text(json.dumps({"pid": holder.pid, "host": socket.gethostname()}))
        r = train_proc(cmd(ds, run))
        assert r.returncode == 2
        assert f"process {holder.pid}" in r.stderr and "Traceback" not in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1
    finally:
        holder.kill()
        holder.wait()
    r = train_proc(cmd(ds, run))  # the holder is gone: its lock is taken over
    assert r.returncode == 0, r.stderr[-2000:]
    assert not (run / ".lock").exists()
