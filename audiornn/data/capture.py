"""`python -m audiornn capture --out reamp.wav`: the signal to record an amp or pedal through.

Play the file through the gear, record the result, and give both to `data
--pair reamp.wav recorded.wav`. The signal is deterministic (the same bytes
for the same rate and length) and laid out, in order:

    0.5 s  silence
    4 blips, 0.5 s apart      single samples at 0.5: the latency, from their echo
    0.5 s  silence
    validation segment A      10 s of music, a sweep and noise (its own seed)
    3 sweeps                  20 Hz to 0.45 x the rate, 3 s each, at -20, -10, -3 dBFS
    6 noise bursts            0.5 s each at -40 ... -3 dBFS, 0.25 s apart
    music                     plucked notes and chords from B0 to E6 (a five-string
                              bass's lowest to a guitar's highest), dynamics from pp
                              to ff (the project's own synthesizer)
    validation segment B      segment A again, sample for sample
    0.5 s  silence

`data` recognizes the file by its first seconds at any sample rate, takes
the latency from the blips, compares the two recordings of the validation
segment (the replicate ESR: how repeatable the gear and the recording are),
holds out segment B for validation, and leaves A out of training.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal as sps

from audiornn.data import corpus
from audiornn.errors import AudioRNNError

SEED = 20261122
BLIPS = (0.5, 1.0, 1.5, 2.0)  # seconds
HEAD_S = 2.5  # silence, blips, silence
VAL_S = 10.0
TAIL_S = 0.5
SWEEP_S = 3.0
#: The sweeps and the music reach down to a five-string bass (B0, 31 Hz): recorded music
#: has much of its energy below a guitar's E2 (82 Hz), and a capture without it left the
#: model guessing there (3/4 of its error on held-out music was below 40 Hz).
SWEEP_FROM_HZ = 20.0
LOWEST_NOTE, BASS_TOP = 23, 40  # MIDI: B0; notes below E2 are played alone, as a bass
SWEEP_DB = (-20.0, -10.0, -3.0)
NOISE_DB = (-40.0, -30.0, -20.0, -10.0, -6.0, -3.0)
NOISE_S, GAP_S = 0.5, 0.25
REPLICATE_WARN = 0.01  # replicate ESR above this draws a warning
#: The share of a blip's response arriving later than RING_AFTER_S above which `data --pair`
#: suggests `train --ir`: the default WaveNet hears 85 ms, so it cannot model what comes
#: later, and that share is about the ESR it is left with (a real reverb, tap_reverb at an
#: RT60 of 1.16 s: 8% of the response after 0.1 s, a whole-segment ESR of 11% after 5 min).
RING_AFTER_S, RING_WARN = 0.1, 0.01
MIN_MINUTES, MAX_MINUTES = 1.0, 30.0


@dataclass(frozen=True)
class Sections:
    """Sample ranges [start, end) of a capture signal of n samples at `rate`."""

    rate: int
    n: int

    def _s(self, seconds: float) -> int:
        return int(round(seconds * self.rate))

    @property
    def head(self) -> int:
        return self._s(HEAD_S)

    @property
    def val_a(self) -> tuple[int, int]:
        return self.head, self.head + self._s(VAL_S)

    @property
    def val_b(self) -> tuple[int, int]:
        end = self.n - self._s(TAIL_S)
        return end - self._s(VAL_S), end


def _db(v: float) -> float:
    return 10 ** (v / 20)


def blip(rate: int) -> np.ndarray:
    """One sample at 0.5: broadband, so the echo's peak is the latency whatever the gear's tone."""
    return np.array([0.5])


def _sweep(rate: int, seconds: float, level_db: float) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    y = sps.chirp(t, SWEEP_FROM_HZ, t[-1], 0.45 * rate, method="logarithmic", phi=-90)
    fade = np.minimum(1.0, np.minimum(t, t[-1] - t) / 0.01)
    return _db(level_db) * y * fade


def _music(rate: int, seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Notes from a bass's B0 to a guitar's E6 (MIDI 23..88), chords above E2, with varied
    dynamics, peak <= 0.9."""
    n = int(seconds * rate)
    out = np.zeros(n + rate * 2)
    pos = 0
    while pos < n:
        dur = rng.choice([0.125, 0.25, 0.5, 1.0])
        velocity = _db(rng.uniform(-30.0, -3.0))
        root = int(rng.integers(LOWEST_NOTE, 89))
        notes = [root] if root < BASS_TOP or rng.random() < 0.6 else [root, root + 4, root + 7, root + 12]
        for k, note in enumerate(notes):
            f = 440.0 * 2 ** ((note - 69) / 12)
            if f >= 0.45 * rate:
                continue
            tone = corpus.pluck(f, dur + 0.5, rate, rng, decay=rng.uniform(0.990, 0.998))
            start = pos + k * int(0.01 * rate)  # a strum
            out[start:start + len(tone)] += velocity * tone / len(notes) ** 0.5
        pos += int(dur * rate)
    out = out[:n]
    peak = np.max(np.abs(out))
    return 0.9 * out / peak if peak > 0.9 else out


def _validation(rate: int) -> np.ndarray:
    rng = np.random.default_rng([SEED, 1])
    music = _music(rate, VAL_S - 3.0, rng)
    sweep = _sweep(rate, 2.0, -6.0)
    noise = _db(-6.0) * np.clip(rng.standard_normal(int(1.0 * rate)), -3, 3) / 3
    return np.concatenate([music, sweep, noise])[: int(round(VAL_S * rate))]


def capture_signal(rate: int = 48000, minutes: float = 3.0) -> np.ndarray:
    """The capture signal (float64 mono in [-1, 1]); the same for the same arguments."""
    if not 8000 <= rate <= 192000:
        raise AudioRNNError(f"--sample-rate must be in [8000, 192000] Hz, got {rate}")
    if not MIN_MINUTES <= minutes <= MAX_MINUTES:
        raise AudioRNNError(f"--minutes must be in [{MIN_MINUTES:g}, {MAX_MINUTES:g}], got {minutes}")
    n = int(round(minutes * 60 * rate))
    lay = Sections(rate, n)
    x = np.zeros(n)
    b = blip(rate)
    for s in BLIPS:
        k = int(round(s * rate))
        x[k:k + len(b)] = b
    val = _validation(rate)
    a0, a1 = lay.val_a
    x[a0:a1] = val
    rng = np.random.default_rng([SEED, 2])
    parts = [_sweep(rate, SWEEP_S, db) for db in SWEEP_DB]
    for db in NOISE_DB:  # Gaussian, clipped at 3 sigma: the level is the peak
        noise = np.clip(rng.standard_normal(int(NOISE_S * rate)), -3, 3) / 3
        parts += [_db(db) * noise, np.zeros(int(GAP_S * rate))]
    fixed = np.concatenate(parts)
    b0, b1 = lay.val_b
    room = b0 - a1 - len(fixed)
    if room < rate:
        raise AudioRNNError(f"--minutes {minutes} leaves no room for music")
    x[a1:a1 + len(fixed)] = fixed
    x[a1 + len(fixed):b0] = _music(rate, room / rate, rng)[:room]
    x[b0:b1] = val
    return x


def head(rate: int) -> np.ndarray:
    """The first HEAD_S seconds (silence and blips): what recognizes the signal."""
    out = np.zeros(int(round(HEAD_S * rate)))
    b = blip(rate)
    for s in BLIPS:
        k = int(round(s * rate))
        out[k:k + len(b)] = b
    return out


def recognize(dry: np.ndarray, rate: int) -> bool:
    """Whether a signal at `rate` starts like the capture signal (any original rate).

    Both heads are low-passed at a fifth of the rate first, so a file written
    at another rate and resampled still matches.
    """
    n = int(round(HEAD_S * rate))
    if len(dry) < n:
        return False
    sos = sps.butter(4, 0.4, output="sos")  # 0.4 x Nyquist
    ref = sps.sosfiltfilt(sos, head(rate))
    d = sps.sosfiltfilt(sos, np.asarray(dry[:n], np.float64))
    energy = float(np.dot(d, d) * np.dot(ref, ref)) ** 0.5
    return energy > 0 and float(np.dot(d, ref)) / energy > 0.9


def late_energy(wet: np.ndarray, rate: int, lag: int, after_s: float = RING_AFTER_S) -> float:
    """The share of the wet recording's response to the first blip (0.5 s, until the next)
    that arrives more than `after_s` after it: a cabinet, room or reverb ringing."""
    k = int(round(BLIPS[0] * rate)) + lag
    e = np.square(np.asarray(wet[max(0, k):k + int(round((BLIPS[1] - BLIPS[0]) * rate))],
                             np.float64))
    total = float(e.sum())
    return float(e[int(round(after_s * rate)):].sum()) / total if total > 0 else 0.0


def latency(dry: np.ndarray, wet: np.ndarray, rate: int, max_lag: int) -> int:
    """The wet recording's delay in samples, from the blips' echo."""
    from audiornn import dsp

    n = int(round(HEAD_S * rate))
    lag, _ = dsp.estimate_latency(dry[:n], wet[: n + max_lag], max_lag)
    return lag
