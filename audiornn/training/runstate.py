"""A run directory that survives a kill at any instant: its backup, best model, history and lock.

At the end of every epoch, in this order:

1. if the monitored loss improved, `model.keras` (written to a temporary
   file, fsynced, renamed into place);
2. `backup/epochNNNN.weights.h5`: the weights and the optimizer's state;
3. `backup/state.json`: the number of completed epochs, the file of step 2,
   every completed epoch's history row and the best loss so far (atomic);
4. `history.csv`, rewritten from those rows (atomic);
5. the previous epoch's weights file is removed.

`state.json` always names a complete weights file, so a SIGKILL anywhere
leaves the last complete epoch readable, and a resume (`train --resume`)
continues from it with every epoch exactly once in `history.csv`. Ctrl-C or
SIGTERM mid-epoch saves a state after the current step (`RunState.save_step`:
state.json also holds "step"), and a resume continues from that step. The backup
is kept when training ends, so `--resume --epochs N` on a finished run goes on
from its last weights. `RunLock` lets one trainer at a time write a run.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import signal
import socket
import time
from pathlib import Path

import keras
import numpy as np

from audiornn.errors import AudioRNNError
from audiornn.files import atomic_path

STATE = "state.json"
log = logging.getLogger("audiornn.train")


def _fault(point: str, epoch: int) -> None:
    """Fault injection for the kill tests: AUDIORNN_KILL_AT=point:epoch kills this process there."""
    if os.environ.get("AUDIORNN_KILL_AT") == f"{point}:{epoch}":
        os.kill(os.getpid(), signal.SIGKILL)


def save_model_durable(model: keras.Model, path: Path, epoch: int = -1) -> None:
    """model.keras, written to a temporary file, fsynced and renamed into place."""
    with atomic_path(path, durable=True) as tmp:
        model.save(tmp)
        _fault("model", epoch)


def read_state(run_dir: Path) -> dict | None:
    """The backup's state (None without one); a state naming a missing file is an error."""
    path = Path(run_dir) / "backup" / STATE
    if not path.exists():
        return _legacy_state(Path(run_dir))
    try:
        state = json.loads(path.read_text())
        epoch, weights = int(state["epoch"]), state["weights"]
    except (ValueError, KeyError, TypeError) as e:
        raise AudioRNNError(f"{path}: unreadable backup state ({e})") from None
    if not (path.parent / weights).exists():
        raise AudioRNNError(f"{path}: names {weights}, which is missing")
    state["epoch"], state["step"] = epoch, int(state.get("step", 0))
    return state


def read_history(run_dir: Path) -> list[dict]:
    """history.csv's rows, typed (the epoch an int, the rest floats); [] when unreadable."""
    try:
        with open(Path(run_dir) / "history.csv", newline="") as f:
            return [{k: float(v) if k != "epoch" else int(v) for k, v in r.items() if v != ""}
                    for r in csv.DictReader(f)]
    except (ValueError, KeyError, OSError):
        return []


def _best(rows: list[dict], monitor: str) -> float:
    return min((r[monitor] for r in rows if monitor in r), default=np.inf)


def _legacy_state(run_dir: Path) -> dict | None:
    """A backup written by Keras' BackupAndRestore (runs from before this module)."""
    meta, weights = run_dir / "backup" / "training_metadata.json", "latest.weights.h5"
    if not (meta.exists() and (run_dir / "backup" / weights).exists()):
        return None
    try:
        epoch = int(json.loads(meta.read_text())["epoch"])
    except (ValueError, KeyError, OSError):
        return None
    rows = [r for r in read_history(run_dir) if r["epoch"] < epoch]
    best = _best(rows, "val_loss" if any("val_loss" in r for r in rows) else "loss")
    return {"epoch": epoch, "weights": weights, "history": rows, "best": best}


def restore(model: keras.Model, run_dir: Path, monitor: str = "val_loss") -> dict | None:
    """Loads the last complete epoch's weights and optimizer state into a compiled model.

    Returns the backup's state ({"epoch": completed epochs, "step": steps done
    in the next epoch (after Ctrl-C, else 0), "history": rows, "best": ...}),
    or None when the run has nothing to continue from. A run without a backup
    (finished before backups were kept) continues from model.keras's weights
    after the epochs in history.csv, with a fresh optimizer.
    """
    state = read_state(run_dir)
    if state is None:
        return _from_best_model(model, Path(run_dir), monitor)
    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    path = Path(run_dir) / "backup" / state["weights"]
    try:
        model.load_weights(path)
    except Exception as e:
        raise AudioRNNError(f"{path}: cannot be loaded ({str(e).splitlines()[0]})") from None
    return state


def _from_best_model(model: keras.Model, run_dir: Path, monitor: str) -> dict | None:
    rows = read_history(run_dir)
    if not rows or not (run_dir / "model.keras").exists():
        return None
    saved = keras.saving.load_model(run_dir / "model.keras", compile=False, safe_mode=True)
    model.set_weights(saved.get_weights())
    log.warning("%s: no backup; continuing from model.keras (the best weights) after epoch %d, "
                "with a fresh optimizer", run_dir, len(rows))
    return {"epoch": len(rows), "history": rows, "best": _best(rows, monitor)}


def write_history(path: Path, rows: list[dict]) -> None:
    """history.csv from the completed epochs' rows (atomic)."""
    keys = ["epoch"] + sorted({k for r in rows for k in r} - {"epoch"})
    with atomic_path(path, ".tmp", durable=True) as tmp, open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys, lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow(r)


class RunState(keras.callbacks.Callback):
    """Saves the best model, the backup and the history at each epoch's end (see the module).

    Args:
      run_dir: the run directory.
      monitor: the loss that picks the best model ("val_loss" or "loss").
      state: the restored state (a resumed run), or None.
      on_best: called with the model after a new model.keras is in place.
    """

    def __init__(self, run_dir: Path, monitor: str, state: dict | None = None, on_best=None):
        super().__init__()
        self.run_dir, self.monitor, self.on_best = Path(run_dir), monitor, on_best
        self.rows = list((state or {}).get("history", []))
        self.best = (state or {}).get("best", np.inf)
        self.weights = (state or {}).get("weights")
        # training minutes at each epoch's end (a resumed run continues its own clock)
        done = float(self.rows[-1].get("minutes", 0.0)) if self.rows else 0.0
        self.clock = time.monotonic() - 60 * done

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        backup = self.run_dir / "backup"
        backup.mkdir(exist_ok=True)
        value = logs.get(self.monitor)
        if value is not None and float(value) < self.best:
            self.best = float(value)
            save_model_durable(self.model, self.run_dir / "model.keras", epoch)
            if self.on_best:
                self.on_best(self.model)
        name = f"epoch{epoch + 1:04d}.weights.h5"
        with atomic_path(backup / name, ".weights.h5", durable=True) as tmp:
            self.model.save_weights(tmp)
            _fault("weights", epoch)
        self.rows = [r for r in self.rows if int(r["epoch"]) < epoch]
        self.rows.append({"epoch": epoch, **{k: float(v) for k, v in logs.items()},
                          "minutes": round((time.monotonic() - self.clock) / 60, 4)})
        old, self.weights = self.weights, name
        with atomic_path(backup / STATE, ".tmp", durable=True) as tmp:
            tmp.write_text(json.dumps({"epoch": epoch + 1, "weights": name,
                                       "history": self.rows, "best": self.best}, indent=1))
        _fault("state", epoch)
        write_history(self.run_dir / "history.csv", self.rows)
        if old and old != name:
            (backup / old).unlink(missing_ok=True)


    def save_step(self, epoch: int, step: int) -> None:
        """A resumable state in the middle of epoch `epoch` (0-based), after `step` of its
        steps (Ctrl-C): the weights and optimizer, and state.json with "step"; history.csv
        keeps the completed epochs. A run with no model.keras yet gets the current weights
        there too, so that it can be used at once."""
        backup = self.run_dir / "backup"
        backup.mkdir(exist_ok=True)
        if not (self.run_dir / "model.keras").exists():
            save_model_durable(self.model, self.run_dir / "model.keras")
        name = f"epoch{epoch + 1:04d}-step{step:06d}.weights.h5"
        with atomic_path(backup / name, ".weights.h5", durable=True) as tmp:
            self.model.save_weights(tmp)
        old, self.weights = self.weights, name
        self.rows = [r for r in self.rows if int(r["epoch"]) < epoch]
        with atomic_path(backup / STATE, ".tmp", durable=True) as tmp:
            tmp.write_text(json.dumps({"epoch": epoch, "step": step, "weights": name,
                                       "history": self.rows, "best": self.best}, indent=1))
        if old and old != name:
            (backup / old).unlink(missing_ok=True)


def clean_partials(run_dir: Path) -> None:
    """Removes what a killed trainer may have left half-written (atomic_path's temporary
    files, hidden beside their final names) and ModelCheckpoint's old files."""
    for pattern in (".model.keras.*", ".history.csv.*", ".config.json.*", ".map.json.*",
                    "backup/.*", ".best-epoch*.keras"):
        for f in Path(run_dir).glob(pattern):
            f.unlink(missing_ok=True)


class RunLock:
    """RUN/.lock: one trainer per run directory; a lock left by a dead process is taken over."""

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / ".lock"
        self.held = False

    def __enter__(self) -> RunLock:
        me = {"pid": os.getpid(), "host": socket.gethostname()}
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                try:
                    other = json.loads(self.path.read_text())
                    pid, host = int(other["pid"]), other.get("host")
                except (ValueError, KeyError, TypeError, OSError):
                    pid, host = None, None
                if pid is not None and host == me["host"] and _alive(pid):
                    raise AudioRNNError(f"{self.path.parent}: another trainer (process {pid}) "
                                        "is writing this run; wait for it or stop it") from None
                if pid is not None and host != me["host"]:
                    raise AudioRNNError(f"{self.path.parent}: a trainer on {host} (process "
                                        f"{pid}) holds {self.path}; remove it if that is stale") from None
                self.path.unlink(missing_ok=True)  # its process is gone: take it over
                continue
            with os.fdopen(fd, "w") as f:
                json.dump(me, f)
            self.held = True
            return self
        raise AudioRNNError(f"{self.path}: cannot take the run's lock")

    def __exit__(self, *exc) -> None:
        if self.held:
            self.path.unlink(missing_ok=True)
            self.held = False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
