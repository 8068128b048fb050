"""The cab and the room: a linear FIR stage after an effect's network (`train --ir SECONDS`).

A network sees a short past (the WaveNet 85 ms at 48 kHz); a speaker cabinet
and a room ring for up to seconds, and are linear. So the stage after the
network is an impulse response h: the gear's output is modelled as
h * net(dry). `fit` finds h by least squares in the frequency domain (the
Wiener solution over the training pairs: the optimum linear stage for the
trained network), `Convolver` applies it block by block by FFT (a stream cut
anywhere equals the whole signal convolved), and `save`/`load` keep it as
RUN/ir.wav: a float WAV at the model's rate, the file a plugin's IR slot loads.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import signal

#: The run's impulse response, beside model.keras.
FILE = "ir.wav"


def fit(pairs, n_taps: int, regularization: float = 1e-6, passes: int = 3) -> np.ndarray:
    """The causal FIR h of n_taps that best maps each x to its y (h * x ~ y), over all pairs.

    Args:
      pairs: (x, y) float arrays of equal length: the network's output and the gear's.
      regularization: added to the input's power, relative to its mean (keeps silent
        bands from blowing up).
      passes: the recording stops before the room's ring-out of its last samples, which
        biases a one-pass fit; each further pass fills that ring-out in from the last
        estimate and fits again.

    The cross- and auto-spectra are summed over the pairs, each zero-padded so that
    no convolution wraps; h is the inverse transform cut to n_taps, with a short
    fade at its end.
    """
    pairs = [(np.asarray(x, np.float64), np.asarray(y, np.float64)) for x, y in pairs]
    n_fft = 1 << int(np.ceil(np.log2(max(len(x) for x, _ in pairs) + n_taps)))
    spectra = [(np.fft.rfft(x, n_fft), len(x), y) for x, y in pairs]
    power = sum(np.abs(fx) ** 2 for fx, _, _ in spectra)
    power = power + regularization * power.mean() + 1e-30
    h = np.zeros(n_taps)
    for k in range(max(1, passes)):
        cross = np.zeros(n_fft // 2 + 1, np.complex128)
        for fx, n, y in spectra:
            full = y
            if k:  # the ring-out after the recording ends, from the last estimate
                tail = np.fft.irfft(fx * np.fft.rfft(h, n_fft), n_fft)[n:n + n_taps - 1]
                full = np.concatenate([y, tail])
            cross += np.conj(fx) * np.fft.rfft(full, n_fft)
        h = np.fft.irfft(cross / power, n_fft)[:n_taps]
    fade = min(n_taps // 8, 256)
    if fade:
        h[-fade:] *= np.cos(np.linspace(0, np.pi / 2, fade)) ** 2
    return h.astype(np.float32)


def apply(x: np.ndarray, h: np.ndarray) -> np.ndarray:
    """A whole signal through h, cut to its own length (what a stream from silence gives)."""
    x = np.asarray(x, np.float32)
    if len(x) == 0:
        return x
    return signal.oaconvolve(x, h)[:len(x)].astype(np.float32)


class Convolver:
    """h applied to a stream, block by block: the tail of each block's convolution carries over."""

    def __init__(self, h: np.ndarray):
        self.h = np.asarray(h, np.float32)
        self.reset()

    def reset(self) -> None:
        self.tail = np.zeros(len(self.h) - 1, np.float64)

    def process(self, block: np.ndarray) -> np.ndarray:
        n = len(block)
        if n == 0:
            return np.zeros(0, np.float32)
        full = signal.oaconvolve(np.asarray(block, np.float64), self.h)  # n + L - 1
        m = min(n, len(self.tail))
        full[:m] += self.tail[:m]
        rest = self.tail[m:]
        self.tail = full[n:]
        self.tail[:len(rest)] += rest
        return full[:n].astype(np.float32)


def save(run_dir: str | Path, h: np.ndarray, rate: int) -> Path:
    """Writes RUN/ir.wav (mono, 32-bit float, the model's rate), atomically."""
    return save_as(Path(run_dir) / FILE, h, rate)


def save_as(path: str | Path, h: np.ndarray, rate: int) -> Path:
    """Writes h as a WAV file (mono, 32-bit float), atomically."""
    import soundfile as sf

    from audiornn.files import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        sf.write(tmp, np.asarray(h, np.float32), int(rate), subtype="FLOAT", format="WAV")
    return path


def load(run_dir: str | Path) -> np.ndarray | None:
    """RUN/ir.wav as float32 samples, None when the run has none."""
    path = Path(run_dir) / FILE
    if not path.exists():
        return None
    import soundfile as sf

    h, _ = sf.read(path, dtype="float32", always_2d=False)
    return np.asarray(h, np.float32).reshape(-1)
