"""`Effect`: a trained regression effect applied block by block, for a live script or a host.

`Effect.process(block)` takes float dry samples at the model's rate and
returns the wet block, carrying the core's state from one call to the next
(the recurrent state, or the convolutions' buffers), so a stream cut into
blocks of any size gives the same samples as the whole signal at once. Knob
models take their settings with `set_knobs`. A run trained with `--ir` has an
impulse response (the cab and the room, runtime/ir.py) that every path applies
after the network.

The math is the core's streaming loop (`cores.get(core).effect_loop`: flat.Loop,
wavenet.Loop), written in `keras.ops` and compiled with XLA (backend.py:
TensorFlow or JAX). Blocks are padded to the loop's lengths; padding never
moves the state.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import keras
import numpy as np

from audiornn import cores, heads, streams
from audiornn.config import RunConfig
from audiornn.distribute import backend
from audiornn.errors import AudioRNNError
from audiornn.runtime import ir as impulse
from audiornn.runtime.model import load_run

log = logging.getLogger("audiornn.effect")


def segment_pairs(dataset, split: str):
    """(dry, wet) float samples of each whole segment of a pair dataset's split."""
    codec = dataset.codec
    for s in dataset.split(split):
        a, b = s.offset, s.offset + s.length
        yield (codec.decode(np.asarray(dataset.streams["input"][a:b]), "input")[0],
               codec.decode(np.asarray(dataset.streams["target"][a:b]), "target")[0])


class Effect:
    """A regression effect model with its state.

    Args:
      model: the trained Keras model (regression head).
      config: its run configuration.
      ir: the impulse response after the network (RUN/ir.wav), or None.
    """

    def __init__(self, model: keras.Model, config: RunConfig, ir: np.ndarray | None = None):
        if not heads.get(config.model.head).float_output:
            raise AudioRNNError("Effect needs a --head regression run (the classification head "
                                "applies with generate --input)")
        self.config = config
        m = config.model
        self.sample_rate = config.codec.sample_rate
        knobs = streams.knobs(m.streams)
        self.knob_names = [s.name for s in knobs]
        self.knob_sizes = [s.size for s in knobs]
        self.loop = cores.get(m.core).effect_loop(model, config)
        self.ir = None if ir is None else np.asarray(ir, np.float32)
        self.convolver = None if ir is None else impulse.Convolver(self.ir)
        self._run = backend.jit(self.loop.run)
        # Knobs start in the middle of the settings seen in training.
        self.knobs = np.asarray([v for s in knobs
                                 for v in streams.middle(s, config.job.conditions.get(s.name, {}))],
                                np.float32)
        self.reset()

    @classmethod
    def from_run(cls, run_dir: str | os.PathLike) -> Effect:
        model, config = load_run(run_dir)
        return cls(model, config, impulse.load(run_dir))

    # ------------------------------------------------------------------ state

    def reset(self) -> None:
        """Zero state (silence before the first block)."""
        self.state = self.loop.zero_state(1)
        if self.convolver:
            self.convolver.reset()

    def set_knobs(self, **values: float) -> None:
        """Sets knob values by name (each knob a float, or a list for a vector)."""
        unknown = set(values) - set(self.knob_names)
        if unknown:
            have = ", ".join(self.knob_names) or "none"
            raise AudioRNNError(f"unknown knob {sorted(unknown)[0]!r} (this model's knobs: {have})")
        out, k = self.knobs.copy(), 0
        for name, size in zip(self.knob_names, self.knob_sizes):
            if name in values:
                v = np.atleast_1d(np.asarray(values[name], np.float32))
                if v.shape != (size,) or not np.all(np.isfinite(v)):
                    raise AudioRNNError(f"knob {name} takes {size} finite number(s), got {values[name]!r}")
                out[k:k + size] = v
            k += size
        self.knobs = out

    # ------------------------------------------------------------------ processing

    @property
    def knobs(self) -> np.ndarray:
        """The knob values, in the order of `knob_names` (each knob's `size` values)."""
        return self._knobs

    @knobs.setter
    def knobs(self, values) -> None:
        self._knobs = np.array(values, np.float32)
        self._knobs.setflags(write=False)  # set them with set_knobs (or a new array)
        self._bias_values = self.loop.bias(self._knobs)  # folded once per setting, not per block

    def process(self, block: np.ndarray) -> np.ndarray:
        """Dry samples (mono, float, the model's rate) -> wet samples; the state carries over."""
        x = np.asarray(block, np.float32).reshape(-1)
        n = len(x)
        if n == 0:
            return np.zeros(0, np.float32)
        x = np.pad(x, (0, self.loop.padded(n) - n))[None]
        y, self.state = self._run(x, np.zeros(1, np.int32), n, self._bias_values, self.state)
        y = np.asarray(y)[0, :n]
        return self.convolver.process(y) if self.convolver else y

    def stream(self, x: np.ndarray, block: int = 1 << 16, tick=None) -> np.ndarray:
        """x streamed from silence in blocks (what a plugin plays); the state is left alone."""
        x = np.asarray(x, np.float32).reshape(-1)
        state, ys = self.loop.zero_state(1), []
        for i in range(0, len(x), block):
            part = x[i:i + block]
            y, state = self._run(np.pad(part, (0, self.loop.padded(len(part)) - len(part)))[None],
                                 np.zeros(1, np.int32), len(part), self._bias_values, state)
            ys.append(np.asarray(y)[0, :len(part)])
            if tick:
                tick(i + len(part))
        return self._room(np.concatenate(ys) if ys else np.zeros(0, np.float32))

    def _room(self, y: np.ndarray) -> np.ndarray:
        """The network's whole output through the run's impulse response (if it has one)."""
        return y if self.ir is None else impulse.apply(y, self.ir)

    def segment_esr(self, dataset, split: str = "val") -> float | None:
        """ESR over a dataset split's whole segments, each run from silence with the state
        carried: what a plugin playing the model gives (training's `val_esr` is a mean over
        short windows from a cold state, which flatters). None without such segments."""
        report = self.segment_report(dataset, split)
        return report and report["esr"]

    def segment_report(self, dataset, split: str = "val") -> dict | None:
        """`segment_esr` with the levels: {"esr", "output_rms_dbfs", "target_rms_dbfs"}
        (the model's and the gear's RMS over those segments), None without segments."""
        segs = dataset.split(split)
        if not segs or "input" not in dataset.streams:
            return None
        err, energy, out, n = 0.0, 0.0, 0.0, 0
        for dry, wet in segment_pairs(dataset, split):
            y = self.stream(dry)
            err += float(np.sum(np.square(y - wet, dtype=np.float64)))
            energy += float(np.sum(np.square(wet, dtype=np.float64)))
            out += float(np.sum(np.square(y, dtype=np.float64)))
            n += len(y)

        def db(e):
            return round(10 * np.log10(max(e / max(n, 1), 1e-20)), 2)

        return {"esr": err / max(energy, 1e-20), "output_rms_dbfs": db(out),
                "target_rms_dbfs": db(energy)}

    def process_parallel(self, x: np.ndarray, rows: int = 8, warmup: int | None = None,
                         threads: int | None = None) -> np.ndarray:
        """A whole signal, cut into pieces run side by side (offline, faster).

        The signal is cut into `rows` pieces per thread (default: one thread
        per CPU core, up to 4), each run as one row of a batch. Each piece
        starts from silence `warmup` samples early (default 0.5 s), so its
        state has settled when its own samples begin: the output differs from
        `process` only by what the model remembers from longer ago (the effect
        benchmark measures it). Leaves the streaming state alone.
        """
        x = np.asarray(x, np.float32).reshape(-1)
        if self.loop.exact_pieces:  # a convolution core streams as fast as pieces would run
            return self.stream(x)
        return self._room(self._parallel(x, rows, warmup, threads))

    def _parallel(self, x, rows, warmup, threads) -> np.ndarray:
        """The network alone over pieces run side by side (see process_parallel)."""
        threads = threads or min(4, os.cpu_count() or 1)
        warmup = int(0.5 * self.sample_rate) if warmup is None else int(warmup)
        part = -(-len(x) // threads)
        if threads > 1 and part > 4 * warmup:
            from concurrent.futures import ThreadPoolExecutor

            # XLA's CPU loop runs on one core; the backend releases the GIL while it runs.
            # Each thread's first piece warms up on the samples before it.
            with ThreadPoolExecutor(threads) as pool:
                outs = list(pool.map(
                    lambda k: self._pieces(x[max(0, k * part - warmup):(k + 1) * part], rows,
                                           warmup, lead=min(warmup, k * part)),
                    range(threads)))
            return np.concatenate(outs)[:len(x)]
        return self._pieces(x, rows, warmup, 0)

    def _pieces(self, x: np.ndarray, rows: int, warmup: int, lead: int) -> np.ndarray:
        """x cut into `rows` pieces in one batch; the first `lead` samples only warm up."""
        pre, x = x[:lead], x[lead:]  # the first piece's warm-up is real audio
        n = len(x)
        piece = -(-n // rows)
        if lead == 0 and (rows <= 1 or piece <= warmup):
            y, _ = self._run(np.pad(x, (0, self.loop.padded(n) - n))[None],
                             np.zeros(1, np.int32), n, self._bias_values, self.loop.zero_state(1))
            return np.asarray(y)[0, :n]
        span = self.loop.padded(piece + warmup)
        padded = np.pad(x, (warmup, span))
        padded[warmup - lead:warmup] = pre
        batch = np.stack([padded[r * piece:r * piece + span] for r in range(rows)])
        zero = self.loop.zero_state(rows)
        start = np.zeros(rows, np.int32)
        start[0] = warmup - lead  # the file's first piece starts from silence, as `process` does
        y, _ = self._run(batch, start, span, self._bias_values, zero)
        y = np.asarray(y)[:, warmup:warmup + piece]
        return y.reshape(-1)[:n]

    def process_file(self, dry: str | os.PathLike, out: str | os.PathLike, *,
                     block: int = 1 << 16, parallel: bool = False, fmt: str = "pcm16",
                     normalize: bool | str = False, progress: bool = False,
                     callback=None) -> Path:
        """Applies the effect to an audio file, atomically: resampled to the model's rate,
        processed, and written back at the input's rate and length (`generate --input`).

        By default the file streams through `process` in blocks from silence: the
        output is exactly what a plugin playing the exported model gives.
        parallel: cut it into pieces run side by side instead (`process_parallel`:
        faster, but each piece starts from a 0.5 s warm-up, not from the file's past).
        progress: a progress line in x real time; callback: called with the
        fraction done (the web page).
        """
        from audiornn import dsp
        from audiornn.data import audio
        from audiornn.data.codec import processed_blocks
        from audiornn.files import atomic_path
        from audiornn.progress import Progress

        info = audio.info(dry)
        if info.sample_rate_hz != self.sample_rate:
            log.info("%s: %d Hz, resampled to the model's %d Hz and the output back to %d Hz",
                     dry, info.sample_rate_hz, self.sample_rate, info.sample_rate_hz)
        parts = list(processed_blocks(str(dry), self.sample_rate, 0.0))
        x = np.concatenate(parts) if parts else np.zeros(0, np.float32)
        tick = Progress(len(x), "sample", quiet=not progress, callback=callback,
                        per_second=self.sample_rate)
        tick(0)  # the clock starts before the first block (its compile counts)
        if parallel:
            y = self.process_parallel(x)
        else:
            y = self.stream(x, block, tick)
        tick(len(x))
        if info.sample_rate_hz != self.sample_rate:
            y = dsp.resample(y, self.sample_rate, info.sample_rate_hz)
        frames = info.n_frames
        y = np.pad(y[:frames], (0, max(0, frames - len(y))))
        from audiornn.runtime.writer import level_mode, report_levels

        peak = float(np.max(np.abs(y), initial=0))
        gain = dsp.output_gain(peak, level_mode(normalize))
        y = y * gain
        report_levels([(Path(out), peak, gain)], fmt)
        with atomic_path(out) as tmp:
            audio.write(tmp, y, info.sample_rate_hz, fmt=fmt)
        return Path(out)
