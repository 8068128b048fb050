import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import soundfile as sf  # noqa: E402


def speechlike(seconds=1.0, rate=16000, seed=0):
    """A synthetic speech-like signal: a pitched pulse train through moving formants."""
    from scipy import signal

    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    t = np.arange(n) / rate
    f0 = 120 + 30 * np.sin(2 * np.pi * 3 * t)
    phase = np.cumsum(f0) / rate
    pulses = (np.diff(np.floor(phase), prepend=0) > 0).astype(float)
    # A glottal source is smooth (about -12 dB/octave), not a train of single-sample spikes.
    b, a = signal.butter(2, 800, fs=rate)
    x = signal.lfilter(b, a, pulses) + 0.002 * rng.standard_normal(n)
    src = x
    for fc, level in ((500, 1.0), (1500, 0.5), (2500, 0.25)):  # formants, falling tilt
        b, a = signal.iirpeak(fc, 5, rate)
        x = x + level * signal.lfilter(b, a, src)
    env = 0.5 + 0.5 * np.sin(2 * np.pi * 2 * t) ** 2
    x = x * env
    return 0.7 * x / np.max(np.abs(x))


@pytest.fixture
def write_wav(tmp_path):
    def _write(name, x, rate=16000, subtype=None, fmt=None):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, x, rate, subtype=subtype, format=fmt)
        return path

    return _write
