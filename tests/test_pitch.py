"""The pitch stream (cores/pitch.py) against a plain loop, and what it finds in tones and noise."""

import numpy as np
import pytest

from audiornn.cores import pitch


def reference(values: np.ndarray, n_hist: int, frame: int, max_lag: int, window: int):
    """Per frame, by brute force in float64: the lag with the largest c^2 / e (c > 0) over the
    last W samples of its N-sample history, the clipped gain, and the F predictions."""
    k = (values.shape[1] - n_hist + frame - 1) // frame
    preds, gains = np.zeros((values.shape[0], k, frame)), np.zeros((values.shape[0], k))
    for b, row in enumerate(values.astype(np.float64)):
        row = np.concatenate([row, np.zeros(k * frame)])
        for j in range(k):
            h = row[j * frame:j * frame + n_hist]
            x = h[n_hist - window:]
            best, best_score, best_gain = 0, -1.0, 0.0
            for lag in range(frame + 1, max_lag + 1):
                y = h[n_hist - window - lag:n_hist - lag]
                c, e = x @ y, y @ y
                score = c * c / (e + pitch.EPS) if c > 0 else 0.0
                if score > best_score:
                    best, best_score, best_gain = lag, score, min(max(c / (e + pitch.EPS), 0.0), 1.0)
            gains[b, j] = best_gain
            preds[b, j] = best_gain * h[n_hist + 1 - best:n_hist + 1 - best + frame]
    return preds, gains


def sawtooth(n: int, period: float, vibrato: float = 0.0, seed: int = 0) -> np.ndarray:
    t = np.arange(n)
    phase = t / period + vibrato * np.sin(2 * np.pi * t / 4000) + np.random.default_rng(seed).uniform()
    return (0.4 * (2 * (phase % 1.0) - 1)).astype(np.float32)


@pytest.mark.parametrize("signal", ["sawtooth", "noise"])
def test_frames_equal_a_brute_force_search(signal):
    frame, max_lag, window = 4, 30, 12
    n_hist = pitch.history(frame, max_lag, window)
    rng = np.random.default_rng(3)
    body = (np.stack([sawtooth(50, 13.0), sawtooth(50, 21.5, seed=1)]) if signal == "sawtooth"
            else rng.normal(0, 0.3, (2, 50)).astype(np.float32))
    values = np.concatenate([rng.normal(0, 0.3, (2, n_hist)).astype(np.float32), body], axis=1)
    pred, gain, last, last_gain = pitch.run(values, n_hist, frame, max_lag, window)
    want_pred, want_gain = reference(values, n_hist, frame, max_lag, window)
    np.testing.assert_allclose(np.asarray(gain), np.repeat(want_gain, frame, axis=1)[:, :50], atol=1e-5)
    np.testing.assert_allclose(np.asarray(pred), want_pred.reshape(2, -1)[:, :50], atol=1e-5)
    np.testing.assert_allclose(np.asarray(last), want_pred[:, -1], atol=1e-5)
    np.testing.assert_allclose(np.asarray(last_gain), want_gain[:, -1], atol=1e-5)
    # One frame at a time (the step math's call) gives the same as the whole run.
    for j in range(want_gain.shape[1]):
        p, g = pitch.frames(values[:, j * frame:j * frame + n_hist], n_hist, 1, frame, max_lag, window)
        np.testing.assert_allclose(np.asarray(p)[:, 0], want_pred[:, j], atol=1e-5)


def test_a_tone_is_predicted_one_period_back_and_noise_is_not():
    """Eight harmonics of 178 Hz at 16 kHz (a period of 90 samples) with a 5% vibrato: the
    prediction is within 3% of the sample it predicts (in energy); white noise: gains near 0;
    silence: gain 0."""
    frame, max_lag, window = 16, 320, 128
    n_hist = pitch.history(frame, max_lag, window)
    t = np.arange(n_hist + 4000)
    phase = 2 * np.pi * (t / 90.0 + 0.3 * np.sin(2 * np.pi * t / 4000))
    tone = (0.1 * sum(np.sin(h * phase) / h for h in range(1, 9))).astype(np.float32)[None]
    pred, gain, _, _ = pitch.run(tone[:, :-1], n_hist, frame, max_lag, window)  # prev[t]: x[t - 1]
    target = tone[0, n_hist + 1:]  # position t predicts prev[t + 1]
    pred, gain = np.asarray(pred)[0], np.asarray(gain)[0]
    assert np.median(gain) > 0.95
    err = np.mean((pred - target) ** 2) / np.mean(target ** 2)
    assert err < 0.03, err
    noise = np.random.default_rng(0).normal(0, 0.3, (1, n_hist + 4000)).astype(np.float32)
    _, gain, _, _ = pitch.run(noise, n_hist, frame, max_lag, window)
    assert np.median(np.asarray(gain)) < 0.35
    _, gain, _, _ = pitch.run(np.zeros((1, n_hist + 64), np.float32), n_hist, frame, max_lag, window)
    assert np.all(np.asarray(gain) == 0.0)
