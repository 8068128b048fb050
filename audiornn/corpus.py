"""The bundled default data: audio the project synthesizes deterministically.

No third-party audio ships with audiornn. `write_demo_corpus` renders plucked
string melodies (Karplus-Strong) over a simple drum pattern; `write_demo_kit`
renders a folder of drum one-shots. The same seed gives the same bytes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import signal

from audiornn import audio

DEMO_RATE_HZ = 22050  # deliberately not the model rate, so the demo exercises resampling
PENTATONIC = np.array([0, 2, 4, 7, 9])


def pluck(freq_hz: float, seconds: float, rate_hz: int, rng: np.random.Generator,
          decay: float = 0.996) -> np.ndarray:
    """A Karplus-Strong plucked string: a noise burst fed through a damped delay loop."""
    period = max(2, int(round(rate_hz / freq_hz)))
    n = int(seconds * rate_hz)
    excitation = np.zeros(n)
    excitation[:period] = rng.uniform(-1, 1, period)
    a = np.zeros(period + 2)
    a[0] = 1.0
    a[period] = a[period + 1] = -0.5 * decay
    return signal.lfilter([1.0], a, excitation)


def kick(rate_hz: int, seconds: float = 0.35, rng=None) -> np.ndarray:
    """A decaying low sine with a falling pitch."""
    t = np.arange(int(seconds * rate_hz)) / rate_hz
    f = 45 + 90 * np.exp(-t * 30)
    return np.sin(2 * np.pi * np.cumsum(f) / rate_hz) * np.exp(-t * 9)


def hat(rate_hz: int, seconds: float = 0.12, rng=None) -> np.ndarray:
    """Decaying high-passed noise."""
    rng = rng or np.random.default_rng(0)
    t = np.arange(int(seconds * rate_hz)) / rate_hz
    b, a = signal.butter(2, min(0.95, 6000 / (rate_hz / 2)), "high")
    return signal.lfilter(b, a, rng.standard_normal(len(t))) * np.exp(-t * 45) * 0.5


def snare(rate_hz: int, seconds: float = 0.2, rng=None) -> np.ndarray:
    """A tone body plus band-passed noise."""
    rng = rng or np.random.default_rng(0)
    t = np.arange(int(seconds * rate_hz)) / rate_hz
    b, a = signal.butter(2, [1500 / (rate_hz / 2), min(0.95, 7000 / (rate_hz / 2))], "band")
    noise = signal.lfilter(b, a, rng.standard_normal(len(t))) * np.exp(-t * 22)
    body = np.sin(2 * np.pi * 185 * t) * np.exp(-t * 30)
    return 0.6 * noise + 0.5 * body


def render_track(seconds: float, rate_hz: int, seed: int) -> np.ndarray:
    """One demo track: a pentatonic melody and bass over kick, snare and hats."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate_hz)
    out = np.zeros(n + rate_hz)
    bpm = rng.uniform(96, 132)
    step = 60.0 / bpm / 2  # eighth notes
    root = 110.0 * 2 ** (rng.integers(0, 12) / 12)
    n_steps = int(seconds / step)
    for k in range(n_steps):
        start = int(k * step * rate_hz)
        if rng.random() < 0.8:
            degree = PENTATONIC[rng.integers(0, 5)] + 12 * rng.integers(1, 3)
            note = pluck(root * 2 ** (degree / 12), step * 3, rate_hz, rng)
            out[start:start + len(note)] += 0.35 * note
        if k % 4 == 0:
            bass = pluck(root * 2 ** (PENTATONIC[rng.integers(0, 3)] / 12) / 2, step * 4, rate_hz,
                         rng, decay=0.998)
            out[start:start + len(bass)] += 0.3 * bass
        drum = None
        if k % 8 in (0, 5):
            drum = 0.8 * kick(rate_hz)
        elif k % 8 in (2, 6):
            drum = 0.5 * snare(rate_hz, rng=rng)
        elif rng.random() < 0.7:
            drum = 0.3 * hat(rate_hz, rng=rng)
        if drum is not None:
            out[start:start + len(drum)] += drum
    out = out[:n]
    return 0.9 * out / np.max(np.abs(out))


def write_demo_corpus(out_dir: str | Path, n_tracks: int = 6, seconds: float = 30.0,
                      rate_hz: int = DEMO_RATE_HZ, seed: int = 1234) -> list[Path]:
    """Writes the default corpus (WAV files) into out_dir and returns their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n_tracks):
        x = render_track(seconds, rate_hz, seed + i)
        paths.append(audio.write(out_dir / f"track{i:02d}.wav", x, rate_hz))
    return paths


def write_demo_kit(out_dir: str | Path, per_label: int = 12, rate_hz: int = DEMO_RATE_HZ,
                   seed: int = 99) -> list[Path]:
    """Writes a synthesized drum kit: out_dir/{kick,snare,hat}/NN.wav."""
    rng = np.random.default_rng(seed)
    makers = {"kick": kick, "snare": snare, "hat": hat}
    paths = []
    for label, make in makers.items():
        folder = Path(out_dir) / label
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_label):
            lead = np.zeros(int(rng.uniform(0.0, 0.05) * rate_hz))
            hit = make(rate_hz, rng=rng) * rng.uniform(0.5, 0.95)
            x = np.concatenate([lead, hit, np.zeros(int(0.05 * rate_hz))])
            paths.append(audio.write(folder / f"{i:02d}.wav", x, rate_hz))
    return paths
