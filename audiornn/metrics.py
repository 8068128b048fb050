"""Quality numbers that need no model: baselines, spectra and error ratios (numpy/scipy only).

Baselines any model must beat, on the same codes it is scored on:
  - a unigram model: the code histogram of the training split (add-one smoothed);
  - a linear predictor: LPC of order 16..32 fitted on the training split, whose
    residual is a Laplace distribution discretized over the 256 mu-law bins, its
    scale adapted backward from the last few residuals (as lossless audio coders
    adapt their residual coder; one global scale loses even to the unigram on
    audio with quiet and loud passages).

Spectral numbers catch generated noise or silence without listening:
average log-spectrum distance, the fraction of near-silent frames and the
spectral flatness (white noise is 1, a pure tone near 0).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import linalg, signal

from audiornn import dsp

LOG2 = math.log(2.0)
#: A frame whose RMS is below this (dBFS) counts as near-silent.
SILENT_DBFS = -60.0
MIN_SCALE = 1e-6


# ---------------------------------------------------------------- unigram

#: Natural log of 2: a loss in nats divided by it is in bits.
LN2 = math.log(2.0)


def unigram(train_codes: np.ndarray) -> np.ndarray:
    """Add-one smoothed code probabilities (256,) from training codes."""
    counts = np.bincount(np.asarray(train_codes, np.int64).ravel(), minlength=dsp.N_CLASSES)
    return (counts + 1.0) / (counts.sum() + dsp.N_CLASSES)


def unigram_score(probs: np.ndarray, codes: np.ndarray) -> tuple[float, float]:
    """(bits per sample, top-1 accuracy) of a unigram model on codes."""
    codes = np.asarray(codes, np.int64)
    bits = float(-np.mean(np.log2(probs[codes])))
    return bits, float(np.mean(codes == int(np.argmax(probs))))


# ---------------------------------------------------------------- LPC


def _bin_edges() -> np.ndarray:
    """Edges (257,) of the 256 mu-law bins in the decoded domain: midpoints, then +-inf."""
    v = dsp.mu_law_decode(np.arange(dsp.N_CLASSES)).astype(np.float64)
    mid = (v[1:] + v[:-1]) / 2
    return np.concatenate([[-np.inf], mid, [np.inf]])


EDGES = _bin_edges()


class LPC:
    """A linear predictor on decoded code values with a discretized Laplace residual.

    Fitted by the autocorrelation method (a Toeplitz solve) on the training
    codes' decoded values. The Laplace scale at sample n is the exponential
    mean of |residual| over the samples before n (time constant `tau`), so it
    follows the loudness without looking ahead; it starts from the training
    split's mean |residual|.
    """

    def __init__(self, order: int = 32, tau: float = 16.0):
        if not 1 <= order <= 64:
            raise ValueError(f"LPC order must be in [1, 64], got {order}")
        self.order, self.tau = order, float(tau)
        self.coef = np.zeros(order)
        self.scale = 1.0

    def fit(self, sequences: list[np.ndarray]) -> LPC:
        """Fits on a list of code sequences (each treated as its own signal)."""
        p = self.order
        r = np.zeros(p + 1)
        for codes in sequences:
            x = dsp.mu_law_decode(codes).astype(np.float64)
            n = len(x)
            for k in range(min(p + 1, n)):
                r[k] += np.dot(x[: n - k], x[k:])
        if r[0] <= 0:
            self.coef = np.zeros(p)
        else:
            r[0] *= 1.0 + 1e-9  # white-noise correction keeps the solve well conditioned
            self.coef = linalg.solve_toeplitz(r[:p], r[1:p + 1])
        abs_sum, count = 0.0, 0
        for codes in sequences:
            e = self.residual(codes)
            abs_sum += float(np.sum(np.abs(e)))
            count += len(e)
        self.scale = max(abs_sum / max(count, 1), MIN_SCALE)
        return self

    def predict(self, codes: np.ndarray) -> np.ndarray:
        """The prediction of each value from the `order` before it (zeros before the start)."""
        x = dsp.mu_law_decode(codes).astype(np.float64)
        # y[n] = sum_k a_k x[n-k], k = 1..p
        return signal.lfilter(np.concatenate([[0.0], self.coef]), [1.0], x)

    def residual(self, codes: np.ndarray) -> np.ndarray:
        return dsp.mu_law_decode(codes).astype(np.float64) - self.predict(codes)

    def scales(self, residual: np.ndarray) -> np.ndarray:
        """The backward-adaptive Laplace scale of every sample (uses residuals before it only)."""
        a = 1.0 / self.tau
        zi = np.array([(1.0 - a) * self.scale])
        ema, _ = signal.lfilter([a], [1.0, -(1.0 - a)], np.abs(residual), zi=zi)
        return np.maximum(np.concatenate([[self.scale], ema[:-1]]), MIN_SCALE)

    def log_probs(self, mean: np.ndarray, scale: np.ndarray | float | None = None) -> np.ndarray:
        """Natural-log probabilities (N, 256) of every bin under Laplace(mean, scale)."""
        b = np.broadcast_to(self.scale if scale is None else scale, np.shape(mean))[:, None]
        lo = (EDGES[None, :-1] - mean[:, None]) / b
        hi = (EDGES[None, 1:] - mean[:, None]) / b
        return _log_laplace_mass(lo, hi)

    def score(self, codes: np.ndarray, block: int = 1 << 15) -> tuple[float, float]:
        """(bits per sample, top-1 accuracy) on one code sequence."""
        codes = np.asarray(codes, np.int64)
        mean = self.predict(codes)
        scale = self.scales(dsp.mu_law_decode(codes) - mean)
        nats, hits = 0.0, 0
        for s in range(0, len(codes), block):
            lp = self.log_probs(mean[s:s + block], scale[s:s + block])
            c = codes[s:s + block]
            nats -= float(np.sum(lp[np.arange(len(c)), c]))
            hits += int(np.sum(np.argmax(lp, axis=1) == c))
        n = max(len(codes), 1)
        return nats / n / LOG2, hits / n


def _log_laplace_mass(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """log P(lo < X < hi) for X ~ Laplace(0, 1), stable far in the tails."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        width = hi - lo
        # Both edges above the mean: 0.5 e^{-lo} (1 - e^{-(hi-lo)}).
        upper = np.log(0.5) - lo + np.log1p(-np.exp(-width))
        # Both edges below the mean: 0.5 e^{hi} (1 - e^{-(hi-lo)}).
        lower = np.log(0.5) + hi + np.log1p(-np.exp(-width))
        # Straddling: 1 - 0.5 e^{lo} - 0.5 e^{-hi}.
        mid = np.log1p(-0.5 * np.exp(lo) - 0.5 * np.exp(-hi))
        # Infinite widths (the outer bins) make upper/lower nan; take their limits.
        upper = np.where(np.isinf(hi), np.log(0.5) - lo, upper)
        lower = np.where(np.isinf(lo), np.log(0.5) + hi, lower)
    out = np.where(lo >= 0, upper, np.where(hi <= 0, lower, mid))
    return np.maximum(out, -700.0)


# ---------------------------------------------------------------- spectra


def average_spectrum(x: np.ndarray, sample_rate: int, nperseg: int = 1024):
    """(frequencies in Hz, power spectral density) by Welch's method."""
    x = np.asarray(x, np.float64)
    nperseg = min(nperseg, max(len(x), 16))
    return signal.welch(x, fs=sample_rate, nperseg=nperseg)


def mean_spectrum(signals: list[np.ndarray], sample_rate: int, nperseg: int = 256):
    """(frequencies, the mean of the signals' Welch spectra): the average spectrum of a set of hits."""
    spectra = [average_spectrum(x, sample_rate, nperseg) for x in signals]
    return spectra[0][0], np.mean([p for _, p in spectra], axis=0)


def log_spectral_distance_db(px: np.ndarray, py: np.ndarray) -> float:
    """RMS difference (dB) between two power spectra on the same frequencies."""
    dx, dy = 10 * np.log10(px + 1e-12), 10 * np.log10(py + 1e-12)
    return float(np.sqrt(np.mean((dx - dy) ** 2)))


def spectral_distance_db(x: np.ndarray, y: np.ndarray, sample_rate: int) -> float:
    """RMS difference (dB) between the average log-spectra of two signals."""
    return log_spectral_distance_db(average_spectrum(x, sample_rate)[1],
                                    average_spectrum(y, sample_rate)[1])


def frame_rms_db(x: np.ndarray, frame: int = 1024) -> np.ndarray:
    x = np.asarray(x, np.float64)
    n = len(x) // frame
    if n == 0:
        return np.array([20 * np.log10(np.sqrt(np.mean(x**2)) + 1e-12)]) if len(x) else np.array([])
    frames = x[: n * frame].reshape(n, frame)
    return 20 * np.log10(np.sqrt(np.mean(frames**2, axis=1)) + 1e-12)


def silent_fraction(x: np.ndarray, frame: int = 1024, threshold_db: float = SILENT_DBFS) -> float:
    """Share of frames whose RMS is below `threshold_db` dBFS."""
    db = frame_rms_db(x, frame)
    return float(np.mean(db < threshold_db)) if len(db) else 1.0


def spectral_flatness(x: np.ndarray, sample_rate: int) -> float:
    """Geometric over arithmetic mean of the average (Welch) spectrum: white noise ~ 1.

    The DC bin is left out. An all-zero signal has flatness 0.
    """
    _, p = average_spectrum(x, sample_rate)
    p = p[1:]
    if not np.any(p > 0):
        return 0.0
    p = p + 1e-20
    return float(np.exp(np.mean(np.log(p))) / np.mean(p))


def level_match(x: np.ndarray, reference_db: float, frame: int = 1024,
                tolerance_db: float = 10.0) -> float:
    """Share of x's frames whose RMS is within `tolerance_db` of a reference level (dBFS).

    With the real audio's median active-frame level as the reference, quiet
    noise and silence score near 0 and audio at the data's level near 1.
    """
    db = frame_rms_db(x, frame)
    return float(np.mean(np.abs(db - reference_db) <= tolerance_db)) if len(db) else 0.0


def active_median_db(x: np.ndarray, frame: int = 1024, threshold_db: float = SILENT_DBFS) -> float:
    """The median RMS level (dBFS) of the frames above `threshold_db` (-inf if none)."""
    db = frame_rms_db(x, frame)
    db = db[db >= threshold_db]
    return float(np.median(db)) if len(db) else float("-inf")


def periodic_fraction(x: np.ndarray, sample_rate: int, frame: int = 1024,
                      fmin_hz: float = 60.0, fmax_hz: float = 1000.0, threshold: float = 0.6,
                      active_db: float = SILENT_DBFS) -> float:
    """Share of active frames with a clear pitch between fmin and fmax.

    A frame is active when its RMS is above `active_db` dBFS. Its pitch is
    clear when the normalized autocorrelation
    r(L) = sum x[n] x[n+L] / sqrt(sum x[n]^2 sum x[n+L]^2) (sums over the
    frame's overlap at lag L) exceeds `threshold` at some lag L in
    [rate / fmax, rate / fmin]. Tones and voiced speech score near 1; noise
    and isolated clicks near 0. Returns 0 when no frame is active.
    """
    x = np.asarray(x, np.float64)
    frame = max(frame, int(np.ceil(2 * sample_rate / fmin_hz)))
    lo, hi = max(1, int(sample_rate / fmax_hz)), int(np.ceil(sample_rate / fmin_hz))
    n = len(x) // frame
    if n == 0:
        return 0.0
    frames = x[: n * frame].reshape(n, frame)
    rms_db = 20 * np.log10(np.sqrt(np.mean(frames**2, axis=1)) + 1e-12)
    frames = frames[rms_db > active_db]
    if not len(frames):
        return 0.0
    return float(np.mean(_peak_autocorrelation(frames, lo, hi) > threshold))


def voiced_fraction(x: np.ndarray, sample_rate: int, frame_s: float = 0.04,
                    fmin_hz: float = 60.0, fmax_hz: float = 1000.0, threshold: float = 0.45,
                    active_db: float = SILENT_DBFS) -> float:
    """Share of active frames that are voiced: periodic once the spectral envelope is removed.

    Coloured noise (pink, brown, de-emphasized: anything a low-pass makes of
    noise) has a high autocorrelation at every short lag, which fools a pitch
    check on the raw signal (`periodic_fraction`). Here each frame is first
    whitened by its own linear prediction (order about rate / 1 kHz + 2,
    Levinson-Durbin on the Hann-windowed frame with a -30 dB white-noise floor),
    the residual is low-passed at `fmax_hz` (so a jittering pulse train still
    lines up), and the frame is voiced when the residual's normalized
    autocorrelation exceeds `threshold` at a lag in [rate / fmax, rate / fmin].
    Noise of any colour leaves a white residual and scores near 0; tones, notes
    and voiced speech leave a periodic one and score near 1. A frame is active
    when its RMS is above `active_db` dBFS; 0 when none is.
    """
    from scipy import linalg, signal

    x = np.asarray(x, np.float64)
    lo, hi = max(1, int(sample_rate / fmax_hz)), int(np.ceil(sample_rate / fmin_hz))
    frame = max(int(frame_s * sample_rate), 2 * hi + 2)
    order = int(np.clip(round(sample_rate / 1000) + 2, 8, 48))
    n = (len(x) - order) // frame
    if n <= 0:
        return 0.0
    sos = signal.butter(4, min(fmax_hz, 0.45 * sample_rate), fs=sample_rate, output="sos")
    window = np.hanning(frame)
    residuals = []
    for k in range(n):
        start = order + k * frame
        seg = x[start:start + frame]
        if 20 * np.log10(np.sqrt(np.mean(seg**2)) + 1e-12) <= active_db:
            continue
        w = seg * window
        r = np.correlate(w, w, "full")[frame - 1:frame + order]
        r[0] *= 1.001
        a = linalg.solve_toeplitz(r[:order], r[1:order + 1])
        e = signal.lfilter(np.r_[1.0, -a], [1.0], x[start - order:start + frame])[order:]
        residuals.append(signal.sosfiltfilt(sos, e))
    if not residuals:
        return 0.0
    peaks = _peak_autocorrelation(np.array(residuals), lo, hi, floor=0.5)
    return float(np.mean(peaks > threshold))


def _peak_autocorrelation(frames: np.ndarray, lo: int, hi: int, floor: float = 0.0) -> np.ndarray:
    """Each frame's largest normalized autocorrelation at lags lo..hi, normalized by the
    energies of the two overlapping parts; each is taken as at least `floor` times its
    share of the frame's energy (so that a frame that is half silence, where one part
    holds almost nothing, cannot score high)."""
    frame = frames.shape[1]
    frames = frames - frames.mean(axis=1, keepdims=True)
    size = 1 << int(np.ceil(np.log2(2 * frame)))
    spec = np.fft.rfft(frames, size, axis=1)
    r = np.fft.irfft(np.abs(spec) ** 2, size, axis=1)[:, lo:hi + 1]
    energy = np.cumsum(frames**2, axis=1)
    total = energy[:, -1:]
    lags = np.arange(lo, hi + 1)
    head = energy[:, frame - 1 - lags]  # sum of x[0 : frame - L]^2
    tail = total - energy[:, lags - 1]  # sum of x[L : frame]^2
    least = floor * total * (frame - lags) / frame
    head, tail = np.maximum(head, least), np.maximum(tail, least)
    return (r / np.sqrt(np.maximum(head * tail, 1e-20))).max(axis=1)


def stuck_silence_fraction(x: np.ndarray, sample_rate: int, min_seconds: float = 0.5,
                           threshold_db: float = -50.0, frame: int = 1024) -> float:
    """Share of time spent in silent stretches (frames below `threshold_db`) of at least
    `min_seconds`: a generator that fell into silence and did not get out."""
    db = frame_rms_db(x, frame)
    if not len(db):
        return 0.0
    need = max(1, int(np.ceil(min_seconds * sample_rate / frame)))
    stuck, run = 0, 0
    for quiet in np.append(db < threshold_db, False):
        if quiet:
            run += 1
        else:
            stuck += run if run >= need else 0
            run = 0
    return float(stuck / len(db))


def audio_stats(x: np.ndarray, sample_rate: int, reference_db: float | None = None) -> dict:
    """The per-signal numbers of the generated-audio section.

    Args:
      reference_db: the real audio's median active-frame level, for `level_match`.
    """
    out = {"seconds": len(x) / sample_rate, "silent_fraction": silent_fraction(x),
           "flatness": spectral_flatness(x, sample_rate),
           "rms_dbfs": float(20 * np.log10(np.sqrt(np.mean(np.square(x, dtype=np.float64)))
                                           + 1e-12)) if len(x) else -240.0,
           "periodic_fraction": periodic_fraction(x, sample_rate),
           "voiced_fraction": voiced_fraction(x, sample_rate),
           "below_40hz_dbfs": low_band_dbfs(x, sample_rate),
           "stuck_silence_fraction": stuck_silence_fraction(x, sample_rate)}
    if reference_db is not None and np.isfinite(reference_db):
        out["level_match"] = level_match(x, reference_db)
    return out


def low_band_dbfs(x: np.ndarray, sample_rate: int, below_hz: float = 40.0) -> float:
    """The level (dBFS, RMS) of x below `below_hz`: rumble shows here (real music: about -45)."""
    from scipy import signal

    x = np.asarray(x, np.float64)
    if len(x) < 64:
        return -240.0
    sos = signal.butter(8, below_hz, "lowpass", fs=sample_rate, output="sos")
    y = signal.sosfiltfilt(sos, x)
    return float(20 * np.log10(np.sqrt(np.mean(np.square(y))) + 1e-12))


def spectral_centroid(x: np.ndarray, sample_rate: int) -> float:
    """The power-weighted mean frequency (Hz) of the average spectrum."""
    f, p = average_spectrum(x, sample_rate, nperseg=min(1024, len(x)))
    return float(np.sum(f * p) / max(np.sum(p), 1e-20))


# ---------------------------------------------------------------- effects


def esr(target: np.ndarray, output: np.ndarray, preemphasis: float | None = None) -> float:
    """Error-to-signal ratio sum((t - o)^2) / sum(t^2), optionally after a
    first-order high-pass 1 - a z^-1 on both (a = 0.95 in effect-modelling papers)."""
    t = np.asarray(target, np.float64)
    o = np.asarray(output, np.float64)
    n = min(len(t), len(o))
    t, o = t[:n], o[:n]
    if preemphasis:
        t = signal.lfilter([1.0, -preemphasis], [1.0], t)
        o = signal.lfilter([1.0, -preemphasis], [1.0], o)
    return float(np.sum((t - o) ** 2) / max(np.sum(t**2), 1e-20))


def best_gain(reference: np.ndarray, x: np.ndarray) -> float:
    """The least-squares gain g minimizing |reference - g x|^2."""
    r = np.asarray(reference, np.float64)
    x = np.asarray(x, np.float64)
    n = min(len(r), len(x))
    return float(np.dot(r[:n], x[:n]) / max(np.dot(x[:n], x[:n]), 1e-20))


def energy_db(x: np.ndarray, sample_rate: int, frame_s: float = 0.010, hop_s: float = 0.005):
    """Short-time energy in dB: mean square of `frame_s` frames every `hop_s` seconds."""
    x = np.asarray(x, np.float64)
    frame, hop = max(1, int(round(frame_s * sample_rate))), max(1, int(round(hop_s * sample_rate)))
    n = max(1, 1 + (len(x) - frame) // hop)
    idx = np.arange(frame)[None, :] + hop * np.arange(n)[:, None]
    frames = np.pad(x, (0, max(0, idx.max() + 1 - len(x))))[idx]
    return 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)


def second_onset(x: np.ndarray, sample_rate: int, rise_db: float = 12.0, floor_db: float = 48.0,
                 guard_s: float = 0.010) -> float | None:
    """When a hit fires again after its attack: the time (s) of its second onset, or None.

    The definition: take the energy of 10 ms frames every 5 ms (`energy_db`);
    the attack is the loudest frame. After it, the decaying envelope is the
    running minimum of the energy, floored at `floor_db` below the attack (so
    the rustle of a decay into silence does not count). A second onset is the
    first frame, more than `guard_s` after the attack, whose energy is more
    than `rise_db` above the envelope up to the frame before it.
    """
    e = energy_db(x, sample_rate)
    p = int(np.argmax(e))
    floor = e[p] - floor_db
    env = np.minimum.accumulate(np.maximum(e[p:], floor))
    guard = p + max(1, int(np.ceil(guard_s / 0.005)))
    for k in range(max(guard, p + 1), len(e)):
        if e[k] > env[k - 1 - p] + rise_db:
            return k * 0.005
    return None
