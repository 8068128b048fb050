"""Backward-adaptive pitch (long-term) prediction in `keras.ops`: the tiered core's pitch stream.

A frame of 16 samples cannot see one period of a voice back (100-200 Hz is 80-160
samples at 16 kHz), so neither the sample tier's window nor the linear prediction
(cores/lpc.py) can copy the last period; CELP's adaptive codebook does. Once per
frame, from the N decoded samples before it:

- the lag T in [F + 1, max_lag] whose past best matches the last W samples: the
  largest c(T)^2 / e(T) with c(T) > 0, where c(T) = sum x[n] x[n - T] and
  e(T) = sum x[n - T]^2 over those W samples;
- the gain g = c(T) / e(T), clipped to [0, 1] (0 where nothing correlates).

At each of the frame's F positions the prediction of its sample is g times the
sample T before it. T > F puts that sample before the frame, so a frame's
predictions are known at its start. Nothing here is trained: the same
functions run in the Keras model (training windows start from silence) and in
the step math (from the samples it generated), in the same order of operations,
so both pick the same lag.
"""

from __future__ import annotations

import numpy as np
from keras import ops

#: Added to e(T), so silence gives gain 0 rather than 0 / 0.
EPS = 1e-6


def history(frame: int, max_lag: int, window: int) -> int:
    """N, the samples a frame's search reads: W + max_lag, rounded up to whole frames."""
    return -(-(window + max_lag) // frame) * frame


def _window_sums(values, start: int, k: int, frame: int, max_lag: int, window: int):
    """c(T) and e(T) for k consecutive frames: (B, k, L) each, L = max_lag - F lags.

    Frame j's W samples are values[:, start + jF : start + jF + W]. The products are
    summed per frame of F samples and then over the W / F frames, by explicit adds in a
    fixed order, so one frame (the step) and many (the model) give the same floats.
    """
    m = window // frame
    n = (k + m - 1) * frame
    lags = np.arange(frame + 1, max_lag + 1, dtype=np.int32)
    index = start + ops.arange(n, dtype="int32")[:, None] - lags[None, :]  # (n, L)
    lagged = ops.take(values, index, axis=1)  # (B, n, L): x[n - T]
    b = ops.shape(values)[0]
    target = values[:, start:start + n][:, :, None]
    per_frame = []
    for x in (target * lagged, lagged * lagged):
        x = ops.reshape(x, (b, k + m - 1, frame, len(lags)))
        acc = x[:, :, 0]
        for i in range(1, frame):
            acc = acc + x[:, :, i]
        per_frame.append(acc)  # (B, k + m - 1, L)
    out = []
    for d in per_frame:
        acc = d[:, 0:k]
        for i in range(1, m):
            acc = acc + d[:, i:i + k]
        out.append(acc)
    return out


def frames(values, n_history: int, k: int, frame: int, max_lag: int, window: int):
    """Predictions for k consecutive frames.

    Args:
      values: (B, S) decoded samples, S >= N + (k - 1) F: the N before frame 0, then
        the frames' previous samples (values[:, jF : jF + N] is frame j's history).

    Returns:
      (predictions (B, k, F): position i of frame j predicts its sample as
      g_j * values[:, jF + N + 1 - T_j + i]; gains (B, k)).
    """
    f = frame
    c, e = _window_sums(values, n_history - window, k, f, max_lag, window)
    score = ops.where(c > 0, c * c / (e + EPS), ops.zeros_like(c))
    best = ops.cast(ops.argmax(score, axis=-1), "int32")  # (B, k): lag F + 1 + best
    pick = best[:, :, None]
    gain = ops.clip(ops.take_along_axis(c, pick, axis=-1) / (ops.take_along_axis(e, pick, axis=-1) + EPS),
                    0.0, 1.0)[:, :, 0]
    start = (ops.arange(k, dtype="int32") * f)[None, :, None] + n_history - f - best[:, :, None]
    index = start + ops.arange(f, dtype="int32")[None, None, :]  # (B, k, F)
    b = ops.shape(values)[0]
    past = ops.take_along_axis(values, ops.reshape(index, (b, k * f)), axis=1)
    return ops.reshape(past, (b, k, f)) * gain[:, :, None], gain


def run(values, n_history: int, frame: int, max_lag: int, window: int):
    """Predictions over a whole sequence that starts at a frame boundary (as lpc.run).

    Args:
      values: (B, N + T) decoded samples: the N before the sequence, then its T
        previous samples.

    Returns:
      (predictions (B, T), gains (B, T), the last frame's predictions (B, F) and gain (B,)).
    """
    b, total = ops.shape(values)[0], ops.shape(values)[1]
    t = total - n_history
    k = (t + frame - 1) // frame
    padded = ops.concatenate([values, ops.zeros((b, k * frame - t))], axis=1)
    pred, gain = frames(padded, n_history, k, frame, max_lag, window)
    per_step = ops.reshape(ops.repeat(gain[:, :, None], frame, axis=2), (b, k * frame))
    return ops.reshape(pred, (b, k * frame))[:, :t], per_step[:, :t], pred[:, -1], gain[:, -1]
