"""The training callbacks besides the run state: windows, budgets, signals, log lines, previews."""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from pathlib import Path

import keras
import numpy as np

from audiornn import heads
from audiornn.distribute import multiworker
from audiornn.progress import duration

log = logging.getLogger("audiornn.train")


class PinEpoch(keras.callbacks.Callback):
    """Tells the window sequence the epoch number, so a resumed run draws the same windows."""

    def __init__(self, sequence):
        super().__init__()
        self.sequence = sequence

    def on_epoch_begin(self, epoch, logs=None):
        self.sequence.set_epoch(epoch)


class ResetStates(keras.callbacks.Callback):
    """--stateful: zeroes the carried recurrent state every `every` training batches
    (new stretches of audio start) and before each validation batch."""

    def __init__(self, every: int):
        super().__init__()
        self.every = every

    def _reset(self):
        for layer in self.model.layers:
            if getattr(layer, "stateful", False):
                layer.reset_state()

    def on_train_batch_begin(self, batch, logs=None):
        if batch % self.every == 0:
            self._reset()

    def on_test_batch_begin(self, batch, logs=None):
        self._reset()

    def on_test_end(self, logs=None):
        self._reset()


class TimeBudget(keras.callbacks.Callback):
    """--max-minutes: stops training so that it ends within the budget, mid-epoch if need be.

    After every step it projects the time of one more step plus the closing
    validation (measured at the last validation, else estimated from the
    steps' time) and stops the epoch when that would pass the budget; Keras
    then validates, and the run state keeps the best weights and a resumable
    backup. Across several workers the decision is taken together at an
    epoch's end (`per_step` False).

    Args:
      minutes: the budget, counted from the first `on_train_begin`.
      val_steps: validation batches per epoch (0: none).
      per_step: check after every step (else only at an epoch's end).
    """

    def __init__(self, minutes: float, val_steps: int = 0, per_step: bool = True):
        super().__init__()
        self.seconds, self.val_steps, self.per_step = 60.0 * minutes, val_steps, per_step
        self.start = None
        self.steps: list[float] = []
        self.val_seconds = None
        self.stopped_at = None

    def on_train_begin(self, logs=None):
        if self.start is None:  # a resumed partial epoch and the rest share one budget
            self.start = time.monotonic()

    def on_train_batch_begin(self, batch, logs=None):
        self._mark = time.monotonic()

    def on_train_batch_end(self, batch, logs=None):
        now = time.monotonic()
        self.steps = (self.steps + [now - self._mark])[-50:]
        if not self.per_step or self.model.stop_training:
            return
        typical = float(np.median(self.steps[1:] or self.steps))  # the first step compiles
        closing = self.val_seconds if self.val_seconds is not None else 0.5 * typical * self.val_steps
        if now - self.start + typical + closing >= self.seconds:
            self.stopped_at = (self.epoch, batch + 1)
            self.model.stop_training = True

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_test_begin(self, logs=None):
        self._test_start = time.monotonic()

    def on_test_end(self, logs=None):
        self.val_seconds = time.monotonic() - self._test_start

    def on_epoch_end(self, epoch, logs=None):
        over = time.monotonic() - self.start >= self.seconds
        if multiworker.any_worker(self.model, over) and not self.model.stop_training:
            self.stopped_at = (epoch, None)
            self.model.stop_training = True
        if self.stopped_at:
            at = f"epoch {epoch + 1}" + (f", step {self.stopped_at[1]}" if self.stopped_at[1] else "")
            log.info("--max-minutes reached at %s after %s: the best weights are in model.keras; "
                     "continue with --resume", at, duration(time.monotonic() - self.start))


class LearningRateDecay(keras.callbacks.Callback):
    """--lr-decay: the step size falls geometrically from `start` to `final` x `start`
    over the run, set at each epoch's start (where every backend reads it again).

    The run's progress is the larger of the epochs done out of `epochs` and, with a
    budget, the time spent out of `seconds` (counted from this invocation's start:
    a resumed run decays again over its new budget, from where the epochs put it).
    """

    def __init__(self, start: float, final: float, epochs: int, seconds: float = 0.0):
        super().__init__()
        self.start_lr, self.final, self.epochs, self.seconds = start, final, epochs, seconds
        self.began = None

    def on_train_begin(self, logs=None):
        if self.began is None:
            self.began = time.monotonic()

    def progress(self, epoch: int) -> float:
        spent = (time.monotonic() - self.began) / self.seconds if self.seconds else 0.0
        return min(1.0, max(epoch / max(1, self.epochs - 1), spent))

    def on_epoch_begin(self, epoch, logs=None):
        self.model.optimizer.learning_rate = self.start_lr * self.final ** self.progress(epoch)


class Interrupted(KeyboardInterrupt):
    """Training stopped on Ctrl-C or SIGTERM after saving a resumable state."""

    def __init__(self, message: str, signum: int):
        super().__init__(message)
        self.message, self.signum = message, signum


class StopOnSignal(keras.callbacks.Callback):
    """Ctrl-C (SIGINT) or SIGTERM: finish the current step, save it, stop.

    The first signal asks; after the step, `save_step(epoch, step)` writes a
    resumable state and `Interrupted` ends training. A second signal quits at
    once (the run state's writes are atomic, so the last saved state stays
    whole). Outside the main thread signals cannot be caught, and nothing is
    installed.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, save_step, run_dir: Path):
        super().__init__()
        self.save_step, self.run_dir = save_step, run_dir
        self.requested = None
        self.previous: dict = {}
        self.epoch = 0

    def on_train_begin(self, logs=None):
        if threading.current_thread() is threading.main_thread() and not self.previous:
            self.previous = {s: signal.signal(s, self._ask) for s in self.SIGNALS}

    def on_train_end(self, logs=None):
        self._restore()

    def _restore(self):
        for s, handler in self.previous.items():
            signal.signal(s, handler)
        self.previous = {}

    def _ask(self, signum, frame):
        self.requested = signum
        self._restore()  # a second signal acts at once
        if sys.stdout.isatty():
            sys.stdout.write("\n")
        log.info("stopping after this step to save the work (press Ctrl-C again to quit at once)")

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.requested:
            self._stop(self.epoch, batch + 1)

    def on_epoch_end(self, epoch, logs=None):
        if self.requested:  # during validation: the run state has saved the whole epoch
            self._stop(epoch + 1, 0)

    def _stop(self, epoch: int, step: int):
        if step:
            self.save_step(epoch, step)
        at = f"epoch {epoch + 1}, step {step}" if step else f"the end of epoch {epoch}"
        signum, self.requested = self.requested, None
        self._restore()
        raise Interrupted(f"interrupted at {at}; the work is saved in {self.run_dir}: the same "
                          "command with --resume continues from there", signum)


class LogLines(keras.callbacks.Callback):
    """Plain progress lines for a log (when the output is not a terminal): one every
    `every_s` seconds within an epoch, and one per epoch with its numbers."""

    def __init__(self, epochs: int, steps: int, every_s: float = 30.0):
        super().__init__()
        self.epochs, self.steps, self.every_s = epochs, steps, every_s

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch, self.t0 = epoch, time.monotonic()
        self.last = self.t0

    def on_train_batch_end(self, batch, logs=None):
        now = time.monotonic()
        if now - self.last >= self.every_s:
            self.last = now
            log.info("epoch %d/%d, step %d/%d: %s (%s)", self.epoch + 1, self.epochs, batch + 1,
                     self.steps, _numbers(logs), duration(now - self.t0))

    def on_epoch_end(self, epoch, logs=None):
        log.info("epoch %d/%d done: %s (%s)", epoch + 1, self.epochs, _numbers(logs),
                 duration(time.monotonic() - self.t0))


def _numbers(logs) -> str:
    return ", ".join(f"{k.replace('_', ' ')} {float(v):.4g}" for k, v in (logs or {}).items()
                     if not k.endswith("accuracy") and np.ndim(v) == 0)


class PreviewSamples(keras.callbacks.Callback):
    """Writes a short preview WAV to RUN/samples/ every N epochs (what the job's generate does)."""

    def __init__(self, run_dir: Path, every: int, seconds: float, config, dataset):
        super().__init__()
        self.run_dir, self.every, self.seconds, self.config = run_dir, every, seconds, config
        self.dataset = dataset

    def on_epoch_end(self, epoch, logs=None):
        if self.every <= 0 or (epoch + 1) % self.every:
            return
        from audiornn.runtime.sampler import Generator

        out = self.run_dir / "samples" / f"epoch{epoch + 1:04d}.wav"
        out.parent.mkdir(exist_ok=True)
        if heads.get(self.config.model.head).float_output:  # the first held-out dry stretch
            from audiornn.data import audio
            from audiornn.runtime.effect import Effect

            ds, codec = self.dataset, self.config.codec
            s = (ds.split("val") or ds.split("train"))[0]
            n = min(s.length, int(self.seconds * codec.sample_rate))
            dry = codec.values()[ds.streams["input"][s.offset:s.offset + n]] / codec.gain("input")
            y = Effect(self.model, self.config).process(dry)
            audio.write(out, np.clip(y, -1, 1), codec.sample_rate)
        else:
            Generator(self.model, self.config).preview(out, self.seconds, epoch, self.dataset)
        log.info("preview written to %s", out)
