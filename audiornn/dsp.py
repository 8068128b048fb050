"""Pure numpy/scipy signal processing: no Keras, no files.

Everything the model sees passes through these functions: mono downmix,
resampling, pre-emphasis, a gain and mu-law quantization to 256 classes.
Generation runs the inverse chain: mu-law decode, undo the gain, de-emphasis.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import signal

MU = 255
N_CLASSES = MU + 1
#: The code that mu-law assigns to silence (0.0).
SILENCE_CODE = 128


def mu_law_levels(x, mu: int = MU, xp=np, rounded: bool = True):
    """mu-law companding of [-1, 1] onto the mu + 1 integer levels, returned as floats.

    The one definition of the encoder: `xp` is the array namespace (numpy here;
    `keras.ops` inside the compiled generation loop), so both round alike.
    rounded: False gives the fractional level (the linear prediction's table look-up).
    """
    x = xp.clip(x, -1.0, 1.0)
    y = xp.sign(x) * xp.log1p(mu * xp.abs(x)) / math.log1p(mu)
    level = (y + 1.0) / 2.0 * mu
    # Midrise-free rounding (half to even in numpy and keras.ops alike).
    return xp.round(level) if rounded else level


def mu_law_encode(x: np.ndarray, mu: int = MU) -> np.ndarray:
    """Quantizes audio in [-1, 1] to mu-law codes.

    Args:
      x: float samples; values outside [-1, 1] are clipped (callers apply a gain
        first so that this never happens to real data).
      mu: mu-law parameter; there are mu + 1 codes.

    Returns:
      uint8 codes in [0, mu].
    """
    return mu_law_levels(np.asarray(x, dtype=np.float64), mu).astype(np.uint8)


def mu_law_decode(codes: np.ndarray, mu: int = MU) -> np.ndarray:
    """Maps mu-law codes back to float samples in [-1, 1].

    Args:
      codes: integer codes in [0, mu].
      mu: mu-law parameter.

    Returns:
      float32 samples; decode then encode is the identity on every code.
    """
    y = 2.0 * np.asarray(codes, dtype=np.float64) / mu - 1.0
    x = np.sign(y) * np.expm1(np.abs(y) * np.log1p(mu)) / mu
    return x.astype(np.float32)



def preemphasis(x: np.ndarray, coef: float = 0.95, zi: np.ndarray | None = None):
    """First-order pre-emphasis y[n] = x[n] - coef * x[n-1].

    Args:
      x: float samples.
      coef: pre-emphasis coefficient in [0, 1).
      zi: filter state from a previous block (see `scipy.signal.lfilter`), or
        None to start from silence.

    Returns:
      (y, zf): the filtered block and the state to pass with the next block.
    """
    if zi is None:
        zi = np.zeros(1)
    y, zf = signal.lfilter([1.0, -coef], [1.0], np.asarray(x, dtype=np.float64), zi=zi)
    return y, zf


def deemphasis(y: np.ndarray, coef: float = 0.95, zi: np.ndarray | None = None):
    """Inverse of `preemphasis`: x[n] = y[n] + coef * x[n-1].

    Returns:
      (x, zf): the filtered block and the state for the next block.
    """
    if zi is None:
        zi = np.zeros(1)
    x, zf = signal.lfilter([1.0], [1.0, -coef], np.asarray(y, dtype=np.float64), zi=zi)
    return x, zf


def to_mono(x: np.ndarray) -> np.ndarray:
    """Averages the channels of a (frames, channels) block; 1-D input passes through.

    Channels in anti-phase (a mis-wired or phase-flipped stereo recording)
    cancel in the average: when it is more than 20 dB below the loudest
    channel, that channel is taken instead.
    """
    x = np.asarray(x)
    if x.ndim == 1:
        return x
    mono = x.mean(axis=1)
    power = np.mean(np.square(x, dtype=np.float64), axis=0)
    loudest = int(np.argmax(power))
    if power[loudest] > 0 and np.mean(np.square(mono, dtype=np.float64)) < power[loudest] * 1e-2:
        return x[:, loudest]
    return mono


def resample_factors(rate_in_hz: int, rate_out_hz: int) -> tuple[int, int]:
    """The exact rational factor (up, down) between two integer rates."""
    g = math.gcd(int(rate_in_hz), int(rate_out_hz))
    return int(rate_out_hz) // g, int(rate_in_hz) // g


def resampled_length(n_samples: int, rate_in_hz: int, rate_out_hz: int) -> int:
    """Length of `resample(x)` for an input of n_samples (as resample_poly gives)."""
    up, down = resample_factors(rate_in_hz, rate_out_hz)
    return -(-n_samples * up // down)


def resample(x: np.ndarray, rate_in_hz: int, rate_out_hz: int) -> np.ndarray:
    """Resamples a whole signal with `scipy.signal.resample_poly` at the exact ratio."""
    up, down = resample_factors(rate_in_hz, rate_out_hz)
    if up == down:
        return np.asarray(x, dtype=np.float64)
    return signal.resample_poly(np.asarray(x, dtype=np.float64), up, down)


class StreamResampler:
    """Block-by-block resampling that equals `resample` on the whole signal.

    Each block is resampled with `resample_poly` together with `pad` input
    samples of context on both sides; the context outputs are dropped. Block
    boundaries fall on multiples of `down`, so every output sample lands at the
    same time as in the one-shot call, and the filter (about 10 input samples
    either side per unit of max(up, down)/up) never reaches past the context.
    Memory is bounded by the block size, not the signal length.
    """

    def __init__(self, rate_in_hz: int, rate_out_hz: int, block: int = 1 << 16):
        self.up, self.down = resample_factors(rate_in_hz, rate_out_hz)
        half_len_in = 10 * max(self.up, self.down) / self.up
        self.pad = self.down * math.ceil((half_len_in + 16) / self.down)
        self.block = self.down * max(1, block // self.down)
        self._buf = np.zeros(self.pad)  # zeros before the start, as resample_poly assumes
        self._done = False

    def _run(self, seg: np.ndarray) -> np.ndarray:
        return signal.resample_poly(seg, self.up, self.down)

    def process(self, x: np.ndarray) -> np.ndarray:
        """Feeds a block; returns the output samples that are now final."""
        if self.up == self.down:
            return np.asarray(x, dtype=np.float64)
        self._buf = np.concatenate([self._buf, np.asarray(x, dtype=np.float64)])
        outs = []
        skip = self.pad * self.up // self.down
        while len(self._buf) >= 2 * self.pad + self.block:
            seg = self._buf[: 2 * self.pad + self.block]
            y = self._run(seg)
            outs.append(y[skip : skip + self.block * self.up // self.down])
            self._buf = self._buf[self.block :]
        return np.concatenate(outs) if outs else np.zeros(0)

    def flush(self) -> np.ndarray:
        """Returns the remaining output, treating the signal as ended."""
        if self.up == self.down or self._done:
            return np.zeros(0)
        self._done = True
        n_rest = len(self._buf) - self.pad
        if n_rest <= 0:
            return np.zeros(0)
        y = self._run(self._buf)
        skip = self.pad * self.up // self.down
        return y[skip : skip + -(-n_rest * self.up // self.down)]



class SilenceShortener:
    """Shortens every silent stretch to at most `max_samples`, block by block.

    The signal is judged in frames of `frame` samples: a frame whose RMS is
    below `threshold_db` dBFS is silent. Within a run of silent frames the
    first `max_samples` worth are kept and the rest dropped; sound is never
    dropped. Blocks may have any length; the result equals one call on the
    whole signal.
    """

    def __init__(self, max_samples: int, threshold_db: float = -50.0, frame: int = 160):
        self.max_samples, self.frame = int(max_samples), int(frame)
        self.threshold = 10 ** (threshold_db / 20)
        self._buf = np.zeros(0)
        self._run = 0  # silent samples kept in the current silent stretch
        self.removed = 0  # samples dropped so far

    def process(self, x: np.ndarray) -> np.ndarray:
        buf = np.concatenate([self._buf, np.asarray(x, np.float64)])
        n = len(buf) // self.frame * self.frame
        frames, self._buf = buf[:n].reshape(-1, self.frame), buf[n:]
        quiet = np.sqrt(np.mean(frames**2, axis=1)) < self.threshold
        keep = np.ones(len(frames), bool)
        for k, q in enumerate(quiet):
            if not q:
                self._run = 0
            elif self._run + self.frame <= self.max_samples:
                self._run += self.frame
            else:
                keep[k] = False
        self.removed += int(np.sum(~keep)) * self.frame
        return frames[keep].reshape(-1)

    def flush(self) -> np.ndarray:
        """The last partial frame (always kept)."""
        out, self._buf = self._buf, np.zeros(0)
        return out


def gain_for_peak(peak: float, headroom: float = 0.99) -> float:
    """The gain that maps a measured peak to `headroom` (never clips, records level).

    Args:
      peak: largest absolute value of the pre-emphasized signal.
      headroom: the level the peak is mapped to, below full scale.

    Returns:
      A linear gain; encoding multiplies by it, decoding divides by it.
    """
    if not np.isfinite(peak) or peak <= 0:
        raise ValueError(f"cannot derive a gain from peak {peak!r}")
    return float(headroom / peak)


#: The peak that written audio is brought to: -1 dBFS, as sample packs are.
PEAK_TARGET = 10 ** (-1 / 20)
#: Output level policies: "headroom" turns a file down only when its peak is above
#: PEAK_TARGET (never up); "peak" scales every file to PEAK_TARGET; "off" keeps the level.
LEVELS = ("headroom", "peak", "off")


def output_gain(peak: float, level: str = "headroom") -> float:
    """The gain that applies `level` (see LEVELS) to a file whose largest |sample| is `peak`."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
    if peak <= 0 or level == "off" or (level == "headroom" and peak <= PEAK_TARGET):
        return 1.0
    return gain_for_peak(peak, PEAK_TARGET)


def subsonic_sos(sample_rate_hz: int, cutoff_hz: float = 30.0, order: int = 4) -> np.ndarray:
    """A Butterworth high-pass (second-order sections) that removes the rumble below
    `cutoff_hz` which de-emphasis makes of a model's low-frequency noise."""
    from scipy import signal

    return signal.butter(order, cutoff_hz, "highpass", fs=sample_rate_hz, output="sos")


def encode(x: np.ndarray, coef: float, gain: float, zi: np.ndarray | None = None):
    """Pre-emphasis, gain and mu-law in one call (for a block of a stream).

    Returns:
      (codes, zf): uint8 codes and the pre-emphasis state for the next block.
    """
    y, zf = preemphasis(x, coef, zi)
    return mu_law_encode(y * gain), zf


def decode(codes: np.ndarray, coef: float, gain: float, zi: np.ndarray | None = None):
    """Inverse of `encode`: mu-law decode, undo the gain, de-emphasis.

    Returns:
      (x, zf): float64 audio and the de-emphasis state for the next block.
    """
    y = mu_law_decode(codes).astype(np.float64) / gain
    return deemphasis(y, coef, zi)


def estimate_latency(dry: np.ndarray, wet: np.ndarray, max_lag: int) -> tuple[int, float]:
    """The delay of `wet` behind `dry` by cross-correlation (FFT), and how well they match.

    Args:
      dry, wet: the two signals at the same rate (a few seconds are enough).
      max_lag: the largest delay, either way, that is searched.

    Returns:
      (lag, correlation): wet[n + lag] lines up with dry[n] (a negative lag
      means the wet signal is early); correlation is the normalized
      cross-correlation at that lag, in [0, 1] (1: wet is a scaled, shifted dry).
    """
    dry = np.asarray(dry, np.float64)
    wet = np.asarray(wet, np.float64)
    energy = math.sqrt(float(np.dot(dry, dry)) * float(np.dot(wet, wet)))
    if energy <= 0:
        return 0, 0.0
    xc = signal.correlate(wet, dry, mode="full", method="fft")
    lags = signal.correlation_lags(len(wet), len(dry), mode="full")
    keep = np.abs(lags) <= max_lag
    xc, lags = xc[keep], lags[keep]
    k = int(np.argmax(np.abs(xc)))
    return int(lags[k]), float(abs(xc[k]) / energy)


def frame_db(x: np.ndarray, rate: int, frame_ms: float = 5.0) -> tuple[int, np.ndarray]:
    """(samples per frame, the energy in dB of each whole frame of `frame_ms`)."""
    n = max(1, int(rate * frame_ms / 1000))
    frames = len(x) // n
    sq = np.square(np.asarray(x)[:frames * n].reshape(frames, n), dtype=np.float64)
    return n, 10 * np.log10(np.mean(sq, axis=1) + 1e-20)


def hit_fallen(levels: np.ndarray, drop_db: float = 60.0, floor_db: float = -60.0) -> bool:
    """Whether a hit being made has ended for `end_hit`, from its frames' energies so far
    (`frame_db`, 5 ms): they have fallen `drop_db` below the loudest, which is louder than
    `floor_db` (a hit, not the near-silence before one). Generation stops there: whatever
    follows, `end_hit` cuts unless it grows louder than the hit itself."""
    e = np.asarray(levels)
    if len(e) < 2 or drop_db <= 0:
        return False
    p = int(np.argmax(e))
    return bool(e[p] > floor_db and np.any(e[p + 1:] <= e[p] - drop_db))


def end_hit(x: np.ndarray, rate: int, drop_db: float = 60.0, frame_ms: float = 5.0,
            fade_ms: float = 5.0, rise_db: float = 12.0) -> np.ndarray:
    """A hit ended (a gate; what comes after is a late burst or click the model added): once
    its 5 ms envelope has fallen `drop_db` below its loudest frame, or at the quietest frame
    before it fires again (a frame more than 10 ms after the loudest that rises `rise_db`
    over the decay so far, as metrics.second_onset counts them), whichever comes first, the
    rest fades out over `fade_ms` and is silent. A hit that does neither is left as it is."""
    x = np.asarray(x)
    n, e = frame_db(x, rate, frame_ms)
    if len(e) < 2 or drop_db <= 0:
        return x
    p = int(np.argmax(e))
    below = np.nonzero(e[p:] <= e[p] - drop_db)[0]
    env = np.minimum.accumulate(np.maximum(e[p:], e[p] - drop_db))  # the decay so far
    guard = max(1, int(np.ceil(10 / frame_ms)))
    again = np.nonzero(e[p + 1:] > env[:-1] + rise_db)[0] + 1
    again = again[again > guard]
    ends = [int(below[0])] if len(below) else []
    if len(again):  # the quietest frame before it fires again
        ends.append(int(np.argmin(e[p:p + int(again[0])])))
    if not ends:
        return x
    cut = (p + min(ends)) * n
    fade = max(1, int(rate * fade_ms / 1000))
    y = x.copy()
    part = y[cut:cut + fade]
    y[cut:cut + fade] = part * (0.5 + 0.5 * np.cos(np.pi * np.arange(len(part)) / fade))
    y[cut + fade:] = 0
    return y


#: A hit's onset: its first sample within this many dB of its peak.
ONSET_DB = 40.0


def onset(x: np.ndarray, floor_db: float = ONSET_DB) -> int:
    """The index of a hit's first sample within `floor_db` dB of its largest magnitude."""
    a = np.abs(np.asarray(x, np.float64))
    return int(np.argmax(a >= a.max() * 10 ** (-floor_db / 20))) if len(a) and a.max() > 0 else 0


def hit_mark(x: np.ndarray, align: str) -> int:
    """Where a hit is pinned: its onset ("onset") or its sample of largest magnitude ("peak")."""
    x = np.asarray(x)
    return onset(x) if align == "onset" else (int(np.argmax(np.abs(x))) if len(x) else 0)


def align_hit(x: np.ndarray, at: int, align: str = "peak") -> np.ndarray:
    """Shifts a hit so that its mark (`hit_mark`: onset or peak) lands exactly at index `at`:
    the start is trimmed or padded with zeros."""
    x = np.asarray(x, np.float64)
    p = hit_mark(x, align)
    return x[p - at:] if p >= at else np.concatenate([np.zeros(at - p), x])


def fix_length(x: np.ndarray, n: int, fade: int = 0) -> np.ndarray:
    """Trims or zero-pads to exactly n samples; a cut end gets a `fade`-sample cosine fade-out."""
    x = np.asarray(x, np.float64)
    if len(x) >= n:
        y = x[:n].copy()
        if len(x) > n and fade > 0:
            f = min(fade, n)
            y[n - f:] *= 0.5 * (1 + np.cos(np.pi * (np.arange(1, f + 1) / f)))
        return y
    return np.concatenate([x, np.zeros(n - len(x))])


def snr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Signal-to-noise ratio of an estimate against a reference, in dB."""
    reference = np.asarray(reference, dtype=np.float64)
    noise = reference - np.asarray(estimate, dtype=np.float64)
    return float(10 * np.log10(np.sum(reference**2) / max(np.sum(noise**2), 1e-30)))


#: The one-shots' envelope stream: a level every this many ms, in dB above this floor.
ENVELOPE_HOP_MS, ENVELOPE_FLOOR_DB = 5.0, -80.0


def envelope_hop(rate: int) -> int:
    """Samples between two of the envelope's frames at a rate."""
    return max(1, int(round(rate * ENVELOPE_HOP_MS / 1000)))


def envelope_db(x: np.ndarray, hop: int) -> np.ndarray:
    """A hit's level in dB (floored at ENVELOPE_FLOOR_DB) at frames k * hop, k = 0 ..
    ceil(len / hop): the RMS over a Hann window of 4 hops centred on each frame."""
    x = np.asarray(x, np.float64)
    k = -(-len(x) // hop) + 1
    w = np.hanning(4 * hop + 1)
    power = np.convolve(np.pad(np.square(x), (2 * hop, 2 * hop + k * hop)), w / w.sum(), "valid")
    return np.maximum(10 * np.log10(power[::hop][:k] + 1e-30), ENVELOPE_FLOOR_DB)


def envelope_values(frames_db: np.ndarray, hop: int, n: int) -> np.ndarray:
    """(n,) float32 per-sample envelope: the frames' dB interpolated between frame
    centres (k * hop), mapped from [floor, 0] dB to [0, 1]."""
    db = np.interp(np.arange(n), np.arange(len(frames_db)) * hop, np.asarray(frames_db, np.float64))
    return ((db - ENVELOPE_FLOOR_DB) / -ENVELOPE_FLOOR_DB).astype(np.float32)


def envelope_gain(values: np.ndarray, range_db: float = 60.0) -> np.ndarray:
    """The amplitude an envelope stream's values (envelope_values) stand for, never below
    `range_db` under its loudest: what a hit is divided by to learn its shape alone, and
    what a generated shape is multiplied by."""
    v = np.asarray(values, np.float64)
    amp = 10 ** ((v * -ENVELOPE_FLOOR_DB + ENVELOPE_FLOOR_DB) / 20)
    return np.maximum(amp, amp.max(initial=0.0) * 10 ** (-range_db / 20))
