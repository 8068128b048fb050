"""The linear-prediction stream (cores/lpc.py) against scipy, and what it predicts."""

import numpy as np
import pytest
from scipy import linalg, signal

from audiornn.cores import lpc


def reference_coefficients(history: np.ndarray, order: int) -> np.ndarray:
    """The normal equations solved by scipy on the same windowed autocorrelation."""
    h = history.astype(np.float64) * lpc.window(len(history))
    r = np.array([h[:len(h) - k] @ h[k:] for k in range(order + 1)])
    r[0] = r[0] * (1 + lpc.WHITE_NOISE) + 1e-9
    return linalg.solve_toeplitz(r[:order], r[1:])


def ar_signal(n: int, seed: int = 0) -> np.ndarray:
    """A resonant AR(4) process: two formant-like poles pairs, driven by white noise."""
    poles = [0.97 * np.exp(1j * 0.2), 0.9 * np.exp(1j * 1.1)]
    a = np.real(np.poly(poles + [np.conj(p) for p in poles]))
    x = signal.lfilter([1.0], a, np.random.default_rng(seed).normal(size=n))
    return (0.3 * x / np.abs(x).max()).astype(np.float32)


@pytest.mark.parametrize("order", [2, 8, 16])
def test_levinson_durbin_solves_the_normal_equations(order):
    x = ar_signal(4 * 256, seed=order).reshape(4, 256)
    got = np.asarray(lpc.coefficients(x, order))
    for row, h in zip(got, x):
        np.testing.assert_allclose(row, reference_coefficients(h, order), rtol=2e-3, atol=2e-4)


def test_run_predicts_each_sample_from_its_frames_coefficients():
    """lpc.run against a plain loop: frame j's coefficients from the N samples before it,
    position t's prediction from prev[t - p + 1 .. t]."""
    frame, order, n_hist, t = 4, 6, 12, 30
    v = np.concatenate([np.zeros((2, n_hist), np.float32), ar_signal(2 * t).reshape(2, t)], axis=1)
    pred, last = lpc.run(v, n_hist, frame, order)
    pred = np.asarray(pred)
    for b in range(2):
        for pos in range(t):
            j = pos // frame
            a = reference_coefficients(v[b, j * frame:j * frame + n_hist], order)
            recent = v[b, n_hist + pos - order + 1:n_hist + pos + 1][::-1]
            assert pred[b, pos] == pytest.approx(a @ recent, abs=2e-4)
    np.testing.assert_allclose(np.asarray(last)[0], reference_coefficients(
        v[0, (t - 1) // frame * frame:(t - 1) // frame * frame + n_hist], order), rtol=2e-3, atol=2e-4)


def test_prediction_gain_on_a_resonance_and_none_on_white_noise():
    """It predicts a resonant signal (> 10 dB less error than the signal's power) and does
    not pretend on white noise (about 0 dB)."""
    frame, order, n_hist = 16, 16, 384

    def gain(x):
        v = np.concatenate([np.zeros(n_hist + 1, np.float32), x[:-1]])[None]  # prev[t] = x[t - 1]
        pred = np.asarray(lpc.run(v, n_hist, frame, order)[0])[0]
        e = x[n_hist:] - pred[n_hist:]
        return 10 * np.log10(np.mean(x[n_hist:] ** 2) / np.mean(e ** 2))

    assert gain(ar_signal(8000)) > 10
    white = (0.1 * np.random.default_rng(3).normal(size=8000)).astype(np.float32)
    assert abs(gain(white)) < 0.5


def test_interpolated_rows_are_continuous_and_exact_at_codes():
    table = np.random.default_rng(0).normal(size=(256, 3)).astype(np.float32)
    at = np.asarray(lpc.interpolated_rows(table, np.array([0.0, 17.0, 255.0], np.float32)))
    np.testing.assert_allclose(at, table[[0, 17, 255]], atol=1e-6)
    mid = np.asarray(lpc.interpolated_rows(table, np.array([17.25], np.float32)))[0]
    np.testing.assert_allclose(mid, 0.75 * table[17] + 0.25 * table[18], atol=1e-6)
    # levels: the encoder's unrounded level (dsp.mu_law_levels rounds it)
    from audiornn import dsp

    x = np.linspace(-1, 1, 101).astype(np.float32)
    np.testing.assert_allclose(np.round(np.asarray(lpc.levels(x))), dsp.mu_law_levels(x), atol=0)
