"""The bundled default data: audio the project synthesizes deterministically.

No third-party audio ships with audiornn. `write_demo_corpus` renders plucked
string melodies (Karplus-Strong) over a simple drum pattern; `write_speech_corpus`
renders speech-like utterances from a source-filter synthesizer (for tests and
the voicing check: not a voice anyone would mistake for a person);
`write_demo_kit` renders a folder of drum one-shots. The same seed gives the
same bytes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import signal

from audiornn.data import audio

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


# ---------------------------------------------------------------- speech-like

#: Vowel formants (F1, F2, F3 in Hz), an adult voice's.
VOWELS = np.array([[730, 1090, 2440], [270, 2290, 3010], [300, 870, 2240],
                   [530, 1840, 2480], [570, 840, 2410]], np.float64)


def _resonate(x: np.ndarray, formants: np.ndarray, rate_hz: int, block: int) -> np.ndarray:
    """x through three moving two-pole resonators (cascade), one set of formants per block."""
    y = np.zeros_like(x)
    zis = [np.zeros(2) for _ in range(3)]
    for k in range(0, len(x), block):
        seg = x[k:k + block]
        for j in range(3):
            f, bw = formants[min(k // block, len(formants) - 1), j], 60.0 + 40.0 * j
            r, theta = np.exp(-np.pi * bw / rate_hz), 2 * np.pi * f / rate_hz
            a = [1.0, -2 * r * np.cos(theta), r * r]
            seg, zis[j] = signal.lfilter([1 - r], a, seg, zi=zis[j])
        y[k:k + block] = seg
    return y


def _syllable(rate_hz: int, rng: np.random.Generator, f0_hz: float, prev: int) -> tuple:
    """One syllable: an optional fricative, then a voiced vowel gliding from the last one."""
    parts = []
    if rng.random() < 0.5:  # a fricative: noise high up, like s or f
        n = int(rng.uniform(0.05, 0.12) * rate_hz)
        b, a = signal.butter(2, [3000, min(7000, 0.45 * rate_hz)], "bandpass", fs=rate_hz)
        noise = signal.lfilter(b, a, rng.standard_normal(n)) * np.hanning(n)
        parts.append(0.12 * noise / np.max(np.abs(noise)))
    n = int(rng.uniform(0.12, 0.25) * rate_hz)
    t = np.arange(n) / rate_hz
    f0 = f0_hz * (1 + 0.08 * np.sin(2 * np.pi * rng.uniform(2, 5) * t + rng.uniform(0, 6)))
    pulses = (np.diff(np.floor(np.cumsum(f0) / rate_hz), prepend=0) > 0).astype(float)
    b, a = signal.butter(2, 600, fs=rate_hz)  # a glottal pulse's smooth spectrum
    source = signal.lfilter(b, a, pulses) + 0.01 * rng.standard_normal(n)
    vowel = int(rng.integers(len(VOWELS)))
    block = int(0.01 * rate_hz)
    steps = np.linspace(0, 1, -(-n // block))[:, None]
    formants = VOWELS[prev] + np.minimum(1, 3 * steps) * (VOWELS[vowel] - VOWELS[prev])
    env = np.minimum(1, np.minimum(t / 0.02, (t[-1] - t) / 0.03))
    voiced = _resonate(source, formants, rate_hz, block) * env
    parts.append(voiced / np.max(np.abs(voiced)))
    return np.concatenate(parts), vowel


def render_speech(seconds: float, rate_hz: int, seed: int) -> np.ndarray:
    """Speech-like audio: utterances of 2-7 syllables at a falling pitch, with pauses."""
    rng = np.random.default_rng(seed)
    out, total, vowel = [], 0, 0
    while total < seconds * rate_hz:
        f0 = rng.uniform(105, 135)
        for k in range(int(rng.integers(2, 8))):
            x, vowel = _syllable(rate_hz, rng, f0 * (1 - 0.03 * k), vowel)
            out.append(x)
            total += len(x)
        pause = np.zeros(int(rng.uniform(0.15, 0.5) * rate_hz))
        out.append(pause)
        total += len(pause)
    x = np.concatenate(out)[: int(seconds * rate_hz)]
    return 0.8 * x / np.max(np.abs(x))


def write_speech_corpus(out_dir: str | Path, n_files: int = 6, seconds: float = 30.0,
                        rate_hz: int = 16000, seed: int = 4321) -> list[Path]:
    """Writes the speech-like corpus (WAV files) into out_dir and returns their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return [audio.write(out_dir / f"speech{i:02d}.wav", render_speech(seconds, rate_hz, seed + i),
                        rate_hz) for i in range(n_files)]
