"""Backward-adaptive linear prediction in `keras.ops`: the tiered core's prediction stream.

Once per frame, the coefficients come from the last N decoded samples before
the frame (a Hann-windowed autocorrelation, a white-noise correction, then
Levinson-Durbin); at every sample, the prediction of the next sample is the
coefficients applied to the last `order` samples. Nothing here is trained:
the same functions run inside the Keras model (training, on windows that
start from silence) and in the step math (generation, from the samples it
made), so both see the same prediction.

`levels` turns a prediction into a fractional mu-law level, and
`interpolated_rows` looks a table up between the two codes around it, so the
sample tier's input is continuous in the prediction (no code flips between
two runs that differ by rounding).
"""

from __future__ import annotations

import numpy as np
from keras import ops

from audiornn import dsp

#: The white-noise correction: the autocorrelation's lag 0 is raised by this fraction
#: (a -30 dB floor), which keeps Levinson-Durbin stable in float32 on tones and silence.
WHITE_NOISE = 1e-3


def window(n: int) -> np.ndarray:
    """The analysis window over the N history samples (a periodic Hann)."""
    return (0.5 - 0.5 * np.cos(2 * np.pi * (np.arange(n) + 0.5) / n)).astype(np.float32)


def coefficients(history, order: int):
    """Prediction coefficients a_1..a_p from history (..., N) (most recent last): (..., p),
    the prediction of the next sample being sum_i a_i x[t - i]."""
    n = ops.shape(history)[-1]
    h = history * ops.convert_to_tensor(window(n))
    r = [ops.sum(h * h, axis=-1) * (1.0 + WHITE_NOISE) + 1e-9]
    r += [ops.sum(h[..., :n - k] * h[..., k:], axis=-1) for k in range(1, order + 1)]
    r = ops.stack(r, axis=-1)  # (..., p + 1)
    k = ops.clip(r[..., 1:2] / r[..., :1], -0.999, 0.999)
    a, err = k, r[..., :1] * (1.0 - k * k)
    for i in range(2, order + 1):  # Levinson-Durbin: order i from order i - 1
        acc = r[..., i:i + 1] - ops.sum(a * ops.flip(r[..., 1:i], axis=-1), axis=-1, keepdims=True)
        k = ops.clip(acc / err, -0.999, 0.999)
        a = ops.concatenate([a - k * ops.flip(a, axis=-1), k], axis=-1)
        err = err * (1.0 - k * k)
    return a

def predict(coeffs, recent):
    """The prediction from coefficients (..., p) and the last p samples (..., p), oldest first."""
    return ops.sum(coeffs * ops.flip(recent, axis=-1), axis=-1)


def run(values, n_history: int, frame: int, order: int):
    """Predictions over a whole sequence that starts at a frame boundary.

    Args:
      values: (B, N + T) decoded samples: the N before the sequence, then its T
        previous samples (prev[t], the sample before position t).
      n_history: N, a multiple of `frame`.

    Returns:
      (predictions (B, T): position t's prediction of its own sample, from
      prev[.. t] with the coefficients of its frame; the last frame's
      coefficients (B, p)).
    """
    b, total = ops.shape(values)[0], ops.shape(values)[1]
    t = total - n_history
    k = (t + frame - 1) // frame
    m = n_history // frame
    padded = ops.concatenate([values, ops.zeros((b, k * frame - t))], axis=1)
    frames = ops.reshape(padded[:, :(k + m - 1) * frame], (b, k + m - 1, frame))
    history = ops.concatenate([frames[:, i:i + k] for i in range(m)], axis=-1)  # (B, K, N)
    coeffs = coefficients(history, order)  # (B, K, p): frame j's, from values before it
    per_step = ops.reshape(ops.repeat(coeffs[:, :, None, :], frame, axis=2), (b, k * frame, order))
    recent = ops.stack([values[:, n_history - order + 1 + i:n_history - order + 1 + i + t]
                        for i in range(order)], axis=-1)  # (B, T, p): prev[t - p + 1 .. t]
    return predict(per_step[:, :t], recent), coeffs[:, -1]


def levels(prediction):
    """A prediction's fractional mu-law level in [0, 255] (dsp.mu_law_levels, unrounded)."""
    return dsp.mu_law_levels(prediction, xp=ops, rounded=False)


def interpolated_rows(table, level):
    """Rows of a (256, W) table at fractional levels (...,): linear between the two codes."""
    lo = ops.clip(ops.floor(level), 0, 254)
    frac = (level - lo)[..., None]
    i = ops.cast(lo, "int32")
    return ops.take(table, i, axis=0) * (1.0 - frac) + ops.take(table, i + 1, axis=0) * frac
