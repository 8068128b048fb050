"""The regression head: one float sample per step (effects), trained on the error-to-signal
ratio (ESR) on pre-emphasized audio, plus DC.

As in Wright et al.'s LSTM amp models: the error and the target both go
through a first-order pre-emphasis filter y[t] - a y[t-1] (it weights the
high frequencies the ear hears in a distortion), and a DC term keeps the mean
of the output right, which the filter cannot see:

    loss = sum(e_p^2) / sum(y_p^2) + dc * mean(e)^2 / mean(y^2)

Sums run over the batch and the steps after the burn-in. Each row's value is
its own share of the batch's sums, so the mean over rows that Keras takes is
the batch's ESR, and rows weighted 0 (padding) drop out of the numerator.
"""

from __future__ import annotations

import keras
from keras import ops

from audiornn.errors import AudioRNNError
from audiornn.heads.base import Head, adam

EPS = 1e-10


def _filtered(x, a: float):
    return x[:, 1:] - a * x[:, :-1] if a else x


def _ratio(error, target):
    """Per-row sum of error^2 divided by the mean per-row sum of target^2: (batch,)."""
    num = ops.sum(ops.square(error), axis=(1, 2))
    den = ops.mean(ops.sum(ops.square(target), axis=(1, 2)))
    return num / (den + EPS)


def esr_rows(y_true, y_pred, burn_in: int = 0, preemphasis: float = 0.0, dc: float = 0.0):
    """ESR terms per row of (batch, T, 1) targets and outputs (see the module docstring)."""
    y_true = ops.cast(y_true[:, burn_in:], "float32")
    y_pred = ops.cast(y_pred[:, burn_in:], "float32")
    error = y_pred - y_true
    out = _ratio(_filtered(error, preemphasis), _filtered(y_true, preemphasis))
    if dc:
        mean_err = ops.mean(error, axis=(1, 2))
        out = out + dc * ops.square(mean_err) / (ops.mean(ops.square(y_true)) + EPS)
    return out


#: (FFT size, hop, window) of the multi-resolution STFT distance: Parallel WaveGAN's three,
#: which NAM's trainer also uses.
RESOLUTIONS = ((512, 50, 240), (1024, 120, 600), (2048, 240, 1200))


def _magnitudes(x, fft: int, hop: int, win: int):
    re, im = ops.stft(x, win, hop, fft)
    return ops.sqrt(ops.maximum(ops.square(re) + ops.square(im), 1e-8))


def spectral_rows(y_true, y_pred, burn_in: int = 0):
    """Multi-resolution STFT distance per row of (batch, T, 1): at each resolution whose
    FFT fits in the scored steps, the spectral convergence || |Y| - |P| || / || |Y| || plus
    the mean absolute difference of the log magnitudes; averaged over the resolutions."""
    y = ops.cast(y_true[:, burn_in:, 0], "float32")
    p = ops.cast(y_pred[:, burn_in:, 0], "float32")
    fits = [r for r in RESOLUTIONS if r[0] <= y.shape[1]]
    if not fits:
        raise AudioRNNError(f"--loss-spectral needs at least {RESOLUTIONS[0][0]} scored steps "
                            f"per window, got {y.shape[1]}")
    out = 0.0
    for fft, hop, win in fits:
        my, mp = _magnitudes(y, fft, hop, win), _magnitudes(p, fft, hop, win)
        sc = ops.sqrt(ops.sum(ops.square(my - mp), axis=(1, 2))
                      / (ops.sum(ops.square(my), axis=(1, 2)) + EPS))
        out = out + sc + ops.mean(ops.abs(ops.log(my) - ops.log(mp)), axis=(1, 2))
    return out / len(fits)


@keras.saving.register_keras_serializable(package="audiornn")
class ESRLoss(keras.losses.Loss):
    """ESR of the pre-emphasized output, plus a DC term; the burn-in is left out."""

    def __init__(self, burn_in: int = 0, preemphasis: float = 0.95, dc: float = 1.0,
                 spectral: float = 0.0, name: str = "esr_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.burn_in, self.preemphasis, self.dc = int(burn_in), float(preemphasis), float(dc)
        self.spectral = float(spectral)

    def call(self, y_true, y_pred):
        out = esr_rows(y_true, y_pred, self.burn_in, self.preemphasis, self.dc)
        if self.spectral:
            out = out + self.spectral * spectral_rows(y_true, y_pred, self.burn_in)
        return out

    def get_config(self):
        return {**super().get_config(), "burn_in": self.burn_in,
                "preemphasis": self.preemphasis, "dc": self.dc, "spectral": self.spectral}


def esr_metric(burn_in: int = 0) -> keras.metrics.Metric:
    """Plain ESR (no pre-emphasis, no DC), the figure the effect benchmarks report."""
    def esr(y_true, y_pred):
        return esr_rows(y_true, y_pred, burn_in)
    return keras.metrics.MeanMetricWrapper(esr, name="esr")


class Regression(Head):
    """The wet sample from the dry input: Dense(1), plus the dry input itself with `skip`
    (the model learns the difference; Wright et al.'s input skip)."""

    name, layer, float_output, exports = "regression", "head", True, True

    def validate(self, config) -> None:
        if config.feedback or not any(s.behaviour.float_input for s in config.streams):
            raise AudioRNNError("the regression head maps a dry input to the wet output "
                                "(effects, with --core flat); it has no previous code to feed")

    def check_dataset(self, dataset, path) -> None:
        if dataset.preemphasis:
            raise AudioRNNError(f"{path}: --head regression needs a dataset built with "
                                f"--preemphasis 0 (the effects' default), not {dataset.preemphasis:g}")

    def build(self, x, inputs, config):
        y = keras.layers.Dense(1, name=self.layer, dtype="float32")(x)
        if config.skip:
            dry = next(inputs[s.name] for s in config.streams if s.behaviour.float_input)
            y = keras.layers.Add(name="skip")([y, dry])
        return y

    def compile(self, model, learning_rate, burn_in, ema: float = 0.0,
                loss_preemphasis: float = 0.95, loss_spectral: float = 0.0, **loss):
        """Adam with gradient clipping on the ESR of the pre-emphasized output (the filter's
        coefficient: `loss_preemphasis`, 0 for the plain ESR) plus a DC term, plus
        `loss_spectral` times the multi-resolution STFT distance; reports the plain ESR as
        "esr"."""
        model.compile(optimizer=adam(learning_rate, ema),
                      loss=ESRLoss(burn_in, loss_preemphasis, spectral=loss_spectral),
                      weighted_metrics=[esr_metric(burn_in)])


HEAD = Regression()
