"""The tiered core (SampleRNN-style): a frame-level RNN at 1/F of the rate conditions a sample-level MLP.

Per frame of F samples, the frame tier (stacked LSTM/GRU) sees the previous
frame's F codes as their decoded values, plus every per-sequence stream
(labels, vectors); a learned projection turns its output into F per-sample
conditioning vectors. Per sample, the sample tier sees the embeddings of the
last F codes (a causal window of F), adds the conditioning vector of its
position in the frame (and any per-step vector), and an MLP gives 256 logits.
Most parameters run at 1/F of the sample rate. With `lpc` (an order p), the
sample tier also sees the linear prediction of its sample from the past
samples (cores/lpc.py: coefficients once per frame from the N samples before
it), as a learned table row between the two codes around the prediction, as
LPCNet feeds its prediction: the network then has to learn the excitation
rather than the formants. With `pitch` (a longest lag), it also sees the
sample one pitch period back, scaled by how well the last period matched
(cores/pitch.py), as CELP's adaptive codebook does.

This module holds both the Keras model (training) and its step math on the
trained weights (generation, priming, scoring); tests prove they agree.

Alignment, for a window of T codes whose previous codes are prev[0..T) (any T;
training windows are whole frames, T = K F):
frame j of the frame tier reads prev[(j-1)F .. jF) (frame 0 reads F silence
codes) and conditions positions [jF, (j+1)F); the sample tier at position t
reads prev[t-F+1 .. t] (silence codes before the window).

The step state is (frame-tier cell states..., cond (B, F, W), buf (B, F) the
last F previous codes, phase (a scalar: the position within the frame)), and
with `lpc` (hist (B, N), recent (B, p), coefficients (B, p)), then with `pitch`
(hist (B, N'), the frame's predictions (B, F), its gain (B,)).
"""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
from keras import ops

from audiornn import dsp
from audiornn.cores import lpc, pitch
from audiornn.cores.base import BroadcastTime, CoreType, concat, fold_tables, latent_points
from audiornn.cores.cells import CELLS, KERAS_LAYERS, stack_sequence, stack_step
from audiornn.errors import AudioRNNError
from audiornn.streams import fold_sequence_bias

# ---------------------------------------------------------------- Keras layers


@keras.saving.register_keras_serializable(package="audiornn")
class FrameCodes(keras.layers.Layer):
    """(B, T) previous codes -> (B, ceil(T/F), F): frame j holds prev[(j-1)F .. jF), frame 0
    silence (a last partial frame is padded with silence)."""

    def __init__(self, frame: int, **kwargs):
        super().__init__(**kwargs)
        self.frame = int(frame)

    def call(self, prev):
        b, t = ops.shape(prev)[0], ops.shape(prev)[1]
        f = self.frame
        pad = ops.full((b, f), dsp.SILENCE_CODE, dtype=prev.dtype)
        shifted = ops.concatenate([pad, prev, pad], axis=1)[:, :(t + f - 1) // f * f]
        return ops.reshape(shifted, (b, -1, f))

    def compute_output_shape(self, shape):
        t = shape[1]
        return (shape[0], None if t is None else (t + self.frame - 1) // self.frame, self.frame)

    def get_config(self):
        return {**super().get_config(), "frame": self.frame}


@keras.saving.register_keras_serializable(package="audiornn")
class SilencePad(keras.layers.Layer):
    """Prepends `n` silence codes along time: the sample tier's window before the first code."""

    def __init__(self, n: int, **kwargs):
        super().__init__(**kwargs)
        self.n = int(n)

    def call(self, prev):
        pad = ops.full((ops.shape(prev)[0], self.n), dsp.SILENCE_CODE, dtype=prev.dtype)
        return ops.concatenate([pad, prev], axis=1)

    def compute_output_shape(self, shape):
        return (shape[0], None if shape[1] is None else shape[1] + self.n)

    def get_config(self):
        return {**super().get_config(), "n": self.n}


@keras.saving.register_keras_serializable(package="audiornn")
class FramesToSamples(keras.layers.Layer):
    """[(B, K, F * W), (B, T) codes] -> (B, T, W): each frame's projection split into its F
    positions, cut to the T positions of the window."""

    def __init__(self, frame: int, **kwargs):
        super().__init__(**kwargs)
        self.frame = int(frame)

    def call(self, inputs):
        x, prev = inputs
        b, k = ops.shape(x)[0], ops.shape(x)[1]
        return ops.reshape(x, (b, k * self.frame, -1))[:, :ops.shape(prev)[1]]

    def compute_output_shape(self, shapes):
        x, prev = shapes
        return (x[0], prev[1], x[2] // self.frame)

    def get_config(self):
        return {**super().get_config(), "frame": self.frame}


@keras.saving.register_keras_serializable(package="audiornn")
class LinearPrediction(keras.layers.Layer):
    """(B, T) previous codes -> (B, T, W): each position's linear prediction of its own sample
    (cores/lpc.py, from silence before the window), looked up in a learned (256, W) table
    between the two codes around it: the sample tier's prediction stream."""

    def __init__(self, frame: int, order: int, history: int, units: int, **kwargs):
        super().__init__(**kwargs)
        self.frame, self.order, self.history, self.units = int(frame), int(order), int(history), int(units)
        self.values = dsp.mu_law_decode(np.arange(256)).astype(np.float32)

    def build(self, shape):
        self.table = self.add_weight((256, self.units), initializer="glorot_uniform", name="table")

    def call(self, prev):
        v = ops.take(ops.convert_to_tensor(self.values), ops.cast(prev, "int32"), axis=0)
        silence = ops.full((ops.shape(prev)[0], self.history), float(self.values[dsp.SILENCE_CODE]))
        pred, _ = lpc.run(ops.concatenate([silence, v], axis=1), self.history, self.frame, self.order)
        return lpc.interpolated_rows(self.table, ops.stop_gradient(lpc.levels(pred)))

    def compute_output_shape(self, shape):
        return (shape[0], shape[1], self.units)

    def get_config(self):
        return {**super().get_config(), "frame": self.frame, "order": self.order,
                "history": self.history, "units": self.units}


@keras.saving.register_keras_serializable(package="audiornn")
class PitchPrediction(keras.layers.Layer):
    """(B, T) previous codes -> (B, T, W): each position's pitch prediction of its own sample
    (cores/pitch.py, from silence before the window) as a learned table row between the two
    codes around it, plus the frame's gain times a learned vector: the pitch stream."""

    def __init__(self, frame: int, max_lag: int, window: int, units: int, **kwargs):
        super().__init__(**kwargs)
        self.frame, self.max_lag, self.window, self.units = int(frame), int(max_lag), int(window), int(units)
        self.history = pitch.history(self.frame, self.max_lag, self.window)
        self.values = dsp.mu_law_decode(np.arange(256)).astype(np.float32)

    def build(self, shape):
        self.table = self.add_weight((256, self.units), initializer="glorot_uniform", name="table")
        self.gain_vector = self.add_weight((self.units,), initializer="zeros", name="gain_vector")

    def call(self, prev):
        v = ops.take(ops.convert_to_tensor(self.values), ops.cast(prev, "int32"), axis=0)
        silence = ops.full((ops.shape(prev)[0], self.history), float(self.values[dsp.SILENCE_CODE]))
        pred, gain, _, _ = pitch.run(ops.concatenate([silence, v], axis=1), self.history,
                                     self.frame, self.max_lag, self.window)
        pred, gain = ops.stop_gradient(pred), ops.stop_gradient(gain)
        return lpc.interpolated_rows(self.table, lpc.levels(pred)) + gain[..., None] * self.gain_vector

    def compute_output_shape(self, shape):
        return (shape[0], shape[1], self.units)

    def get_config(self):
        return {**super().get_config(), "frame": self.frame, "max_lag": self.max_lag,
                "window": self.window, "units": self.units}


@keras.saving.register_keras_serializable(package="audiornn")
class CodeNoise(keras.layers.Layer):
    """Training only: each previous code moved by a rounded normal draw of `sigma` codes
    (clipped to the code range), so the model learns from inputs as imperfect as the ones
    it feeds itself when generating (LPCNet's noise injection; mu-law codes make the noise
    proportional to the level). The identity when not training."""

    def __init__(self, sigma: float, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.sigma, self.seed = float(sigma), int(seed)
        self.generator = keras.random.SeedGenerator(self.seed)

    def call(self, prev, training=False):
        if not training or not self.sigma:
            return prev
        noise = keras.random.normal(ops.shape(prev), stddev=self.sigma, seed=self.generator)
        moved = ops.cast(prev, "float32") + ops.round(noise)
        return ops.cast(ops.clip(moved, 0, 255), prev.dtype)

    def compute_output_shape(self, shape):
        return shape

    def get_config(self):
        return {**super().get_config(), "sigma": self.sigma, "seed": self.seed}


def lpc_history(o) -> int:
    """The prediction's history N: `lpc_history` rounded up to whole frames."""
    return -(-o.lpc_history // o.frame) * o.frame


def pitch_window(o) -> int:
    """The pitch search's window W: `pitch_window` rounded up to whole frames."""
    return -(-o.pitch_window // o.frame) * o.frame


def build(config, o, inputs: dict, stateful: bool = False) -> keras.KerasTensor:
    """The sample tier's features (the head reads them) from the stream inputs.

    Args:
      config: the ModelConfig (core "tiered"); o: its Tiered.Options.
      inputs: stream name -> Keras input.
      stateful: the frame tier keeps its state across batches (training only).
    """
    f, w = o.frame, o.sample_units
    prev_stream = next(s for s in config.streams if s.feedback)
    prev = inputs[prev_stream.name]
    if o.input_noise:
        prev = CodeNoise(o.input_noise, name="input_noise")(prev)
    values = keras.layers.Embedding(
        256, 1, trainable=False, name="frame_values",
        embeddings_initializer=keras.initializers.Constant(
            dsp.mu_law_decode(np.arange(256))[:, None]))
    frames = keras.layers.Reshape((-1, f), name="frame_inputs")(
        values(FrameCodes(f, name="frame_codes")(prev)))
    parts = [frames]
    for s in config.streams:
        if s.per == "sequence":
            x = s.behaviour.features(s, inputs[s.name])
            parts.append(BroadcastTime(name=f"{s.name}_broadcast")([x, frames]))
    x = concat(parts, "frame_concat")
    rnn = KERAS_LAYERS[config.cell]
    for i in range(config.layers):
        x = rnn(config.units, return_sequences=True, stateful=stateful, name=f"rnn{i}")(x)
    cond = FramesToSamples(f, name="frame_to_samples")(
        [keras.layers.Dense(f * w, name="frame_proj")(x), prev])
    emb = prev_stream.behaviour.features(prev_stream, SilencePad(f - 1, name="sample_pad")(prev))
    z = keras.layers.Conv1D(w, f, padding="valid", name="sample_in")(emb)
    z = keras.layers.Add(name="sample_cond")([z, cond])
    if o.lpc:
        z = keras.layers.Add(name="lpc_add")([z, LinearPrediction(
            f, o.lpc, lpc_history(o), w, name="lpc")(prev)])
    if o.pitch:
        z = keras.layers.Add(name="pitch_add")([z, PitchPrediction(
            f, o.pitch, pitch_window(o), w, name="pitch")(prev)])
    for s in _sample_tier(config):
        z = keras.layers.Add(name=f"{s.name}_add")(
            [z, keras.layers.Dense(w, use_bias=False, name=f"{s.name}_sample")(inputs[s.name])])
    z = keras.layers.Activation("relu", name="sample_relu0")(z)
    for i in range(1, o.sample_layers):
        z = keras.layers.Dense(w, activation="relu", name=f"sample{i}")(z)
    return z


def _sample_tier(config) -> list:
    """The per-step float streams the sample tier adds (per-step vectors, the position)."""
    return [s for s in config.streams if s.per == "step" and s.behaviour.sample_tier]


# ---------------------------------------------------------------- step math


class TieredCore:
    """The trained tiered network as plain tensors; the same interface as flat.Core."""

    def __init__(self, model: keras.Model, config):
        self.config = config
        o = CORE.options(config)
        self.frame, self.width = o.frame, o.sample_units
        f = self.frame
        self.cells = [CELLS[config.cell](model.get_layer(f"rnn{i}"), first=i == 0)
                      for i in range(config.layers)]
        k0 = self.cells[0].kernel_np
        self.values = ops.convert_to_tensor(dsp.mu_law_decode(np.arange(256)).astype(np.float32))
        self.frame_kernel = ops.convert_to_tensor(k0[:f].astype(np.float32))  # (F, G)
        self.bias0 = self.cells[0].input_bias_np.astype(np.float32)
        self.sequence_streams = [s for s in config.streams if s.per == "sequence"]
        self.tables, _ = fold_tables(model, self.sequence_streams, k0, f)
        if any(s.behaviour.map for s in config.streams):
            self.latent_points = latent_points(model)
        proj = model.get_layer("frame_proj")
        self.proj_kernel = ops.convert_to_tensor(proj.kernel.numpy())
        self.proj_bias = ops.convert_to_tensor(proj.bias.numpy())
        self.feedback = next(s.name for s in config.streams if s.feedback)
        emb = model.get_layer(f"{self.feedback}_embedding").embeddings.numpy()  # (256, E)
        conv = model.get_layer("sample_in")
        kern = conv.kernel.numpy()  # (F, E, W)
        # Position i of the window: a (256, W) table; stacked so one gather serves all F.
        self.window_tables = ops.convert_to_tensor(
            np.concatenate([emb @ kern[i] for i in range(f)]).astype(np.float32))  # (F*256, W)
        self.window_offsets = ops.convert_to_tensor(np.arange(f, dtype=np.int32) * 256)
        self.sample_bias = ops.convert_to_tensor(conv.bias.numpy())
        self.step_vectors = {s.name: ops.convert_to_tensor(
            model.get_layer(f"{s.name}_sample").kernel.numpy())
            for s in _sample_tier(config)}
        self.step_streams = [s for s in config.streams if s.per == "step"]
        self.mlp = []
        for i in range(1, o.sample_layers):
            d = model.get_layer(f"sample{i}")
            self.mlp.append((ops.convert_to_tensor(d.kernel.numpy()),
                             ops.convert_to_tensor(d.bias.numpy())))
        dense = model.get_layer("logits")
        self.out_kernel = ops.convert_to_tensor(dense.kernel.numpy())
        self.out_bias = ops.convert_to_tensor(dense.bias.numpy())
        self.n_cell_states = sum(c.n_state for c in self.cells)
        # The prediction stream (0: none). Its step state: the N codes before the frame of
        # the last step (moved on by a frame at each frame's first step), the last p codes,
        # and that frame's coefficients.
        self.order = o.lpc
        if self.order:
            self.history = lpc_history(o)
            self.lpc_table = ops.convert_to_tensor(model.get_layer("lpc").table.numpy())
        # The pitch stream (0: none). Its step state: the N codes before the frame of the
        # last step, that frame's F predictions and its gain.
        self.max_lag = o.pitch
        if self.max_lag:
            layer = model.get_layer("pitch")
            self.pitch_window, self.pitch_history = layer.window, layer.history
            self.pitch_table = ops.convert_to_tensor(layer.table.numpy())
            self.gain_vector = ops.convert_to_tensor(layer.gain_vector.numpy())

    # ------------------------------------------------------------------ state

    def zero_state(self, batch: int) -> tuple:
        cells = tuple(t for c in self.cells for t in c.zero_state(batch))
        state = cells + (ops.zeros((batch, self.frame, self.width)),
                         ops.full((batch, self.frame), dsp.SILENCE_CODE, dtype="int32"),
                         ops.convert_to_tensor(np.int32(0)))
        if self.order:  # the prediction's state: see _lpc_state
            state += (ops.full((batch, self.history), dsp.SILENCE_CODE, dtype="int32"),
                      ops.full((batch, self.order), dsp.SILENCE_CODE, dtype="int32"),
                      ops.zeros((batch, self.order)))
        if self.max_lag:  # see _pitch_frame
            state += (ops.full((batch, self.pitch_history), dsp.SILENCE_CODE, dtype="int32"),
                      ops.zeros((batch, self.frame)), ops.zeros((batch,)))
        return state

    def sequence_bias(self, conditions: dict | None, batch: int):
        """The frame tier's layer-0 bias plus every per-sequence stream (see flat.Core)."""
        return fold_sequence_bias(self.bias0, self.tables, conditions, batch)

    # ------------------------------------------------------------------ pieces

    def _frame_step(self, buf, bias, cells: tuple):
        """One frame-tier step from the last F codes: (per-position conditioning, new cell states)."""
        z = ops.matmul(ops.take(self.values, buf, axis=0), self.frame_kernel) + bias
        h, new = stack_step(self.cells, z, cells)
        cond = ops.matmul(h, self.proj_kernel) + self.proj_bias
        return ops.reshape(cond, (-1, self.frame, self.width)), new

    def _sample_logits(self, z):
        """The MLP from the first layer's pre-activation to the logits (any leading shape)."""
        h = ops.relu(z)
        for kernel, bias in self.mlp:
            h = ops.relu(ops.matmul(h, kernel) + bias)
        return ops.matmul(h, self.out_kernel) + self.out_bias

    def _vectors(self, inputs: dict):
        out = 0.0
        for name, kernel in self.step_vectors.items():
            out = out + ops.matmul(inputs[name], kernel)
        return out

    # ------------------------------------------------------------------ step and run

    def _pitch_frame(self, hist):
        """The pitch stream at a frame's start from the N codes before it: (F predictions, gain)."""
        pred, gain = pitch.frames(ops.take(self.values, hist, axis=0), self.pitch_history, 1,
                                  self.frame, self.max_lag, self.pitch_window)
        return pred[:, 0], gain[:, 0]

    def _pitch_rows(self, pred, gain):
        return lpc.interpolated_rows(self.pitch_table, lpc.levels(pred)) + gain[..., None] * self.gain_vector

    def step(self, inputs: dict, bias, state: tuple):
        """One sample for a batch: inputs hold this step's previous code (and per-step vectors)."""
        n = self.n_cell_states
        cells, cond, buf, phase = state[:n], state[n], state[n + 1], state[n + 2]
        extra = state[n + 3:]
        lpc_state, pitch_state = (extra[:3], extra[3:]) if self.order else ((), extra)

        def new_frame():
            c, s = self._frame_step(buf, bias, cells)
            lp, pp = lpc_state, pitch_state
            if self.order:  # the history moves on by the frame just ended (buf)
                h = ops.concatenate([lpc_state[0][:, self.frame:], buf], axis=1)
                lp = (h, lpc_state[1], lpc.coefficients(ops.take(self.values, h, axis=0), self.order))
            if self.max_lag:
                h = ops.concatenate([pitch_state[0][:, self.frame:], buf], axis=1)
                pp = (h,) + self._pitch_frame(h)
            return (c, lp, pp) + s

        def same_frame():
            return (cond, lpc_state, pitch_state) + tuple(cells)

        out = ops.cond(ops.equal(phase, 0), new_frame, same_frame)
        cond, lpc_state, pitch_state, cells = out[0], tuple(out[1]), tuple(out[2]), tuple(out[3:])
        prev = ops.cast(inputs[self.feedback], "int32")
        buf = ops.concatenate([buf[:, 1:], prev[:, None]], axis=1)
        window = ops.take(self.window_tables, buf + self.window_offsets, axis=0)  # (B, F, W)
        z = ops.sum(window, axis=1) + self.sample_bias + ops.take(cond, phase, axis=1)
        z = z + self._vectors(inputs)
        if self.order:
            hist, recent, coeffs = lpc_state
            recent = ops.concatenate([recent[:, 1:], prev[:, None]], axis=1)
            pred = lpc.predict(coeffs, ops.take(self.values, recent, axis=0))
            z = z + lpc.interpolated_rows(self.lpc_table, lpc.levels(pred))
            lpc_state = (hist, recent, coeffs)
        if self.max_lag:
            _, seg, gain = pitch_state
            z = z + self._pitch_rows(ops.take(seg, phase, axis=1), gain)
        logits = self._sample_logits(z)
        return logits, cells + (cond, buf, ops.mod(phase + 1, self.frame)) + lpc_state + pitch_state

    def run(self, inputs: dict, bias, state: tuple, logits: bool = True):
        """Whole sequences from a state at a frame boundary (phase 0): (B, T) -> (B, T, 256).

        The returned state continues exactly, also when T is not a multiple of F
        (its phase is then T mod F).
        """
        f = self.frame
        n = self.n_cell_states
        cells, buf = state[:n], state[n + 1]
        prev = ops.cast(inputs[self.feedback], "int32")
        b, t = ops.shape(prev)[0], ops.shape(prev)[1]
        k = (t + f - 1) // f
        codes = ops.concatenate([buf, prev, ops.full((b, k * f), dsp.SILENCE_CODE, "int32")], axis=1)
        frames = ops.reshape(codes[:, :k * f], (b, k, f))  # frame j: the F codes before it
        zs = ops.matmul(ops.take(self.values, frames, axis=0), self.frame_kernel) + bias[:, None, :]
        hs, new = stack_sequence(self.cells, ops.transpose(zs, (1, 0, 2)), cells)
        cond = ops.matmul(ops.transpose(hs, (1, 0, 2)), self.proj_kernel) + self.proj_bias  # (B, K, F*W)
        cond_frames = ops.reshape(cond, (b, k, f, self.width))
        window = ops.concatenate([buf[:, 1:], prev], axis=1)  # (B, F - 1 + T)
        z = self.sample_bias + ops.reshape(cond_frames, (b, k * f, self.width))[:, :t]
        for i in range(f):
            z = z + ops.take(self.window_tables, window[:, i:i + t] + i * 256, axis=0)
        z = z + self._vectors(inputs)
        extra = ()
        if self.order:
            before = ops.concatenate([state[n + 3][:, f:], buf], axis=1)  # the N codes before
            codes = ops.concatenate([before, prev], axis=1)
            pred, coeffs = lpc.run(ops.take(self.values, codes, axis=0), self.history, f, self.order)
            z = z + lpc.interpolated_rows(self.lpc_table, lpc.levels(pred))
            start = (t - 1) // f * f  # the last frame's first position
            extra = (codes[:, start:start + self.history], codes[:, -self.order:], coeffs)
        if self.max_lag:
            at = n + 3 + (3 if self.order else 0)
            codes = ops.concatenate([state[at][:, f:], buf, prev], axis=1)  # the N before, then prev
            pred, gain, seg, g = pitch.run(ops.take(self.values, codes, axis=0), self.pitch_history,
                                           f, self.max_lag, self.pitch_window)
            z = z + self._pitch_rows(pred, gain)
            start = (t - 1) // f * f
            extra += (codes[:, start:start + self.pitch_history], seg, g)
        out = self._sample_logits(z) if logits else None
        last = ops.concatenate([buf, prev], axis=1)[:, -f:]
        phase = ops.cast(ops.mod(ops.convert_to_tensor(t), f), "int32")
        return out, new + (cond_frames[:, -1], last, phase) + extra


class Tiered(CoreType):
    """A frame-level RNN at 1/F of the rate conditions a sample-level MLP (generate, one-shots)."""

    name = "tiered"

    @dataclasses.dataclass(frozen=True)
    class Options:
        """frame: samples per frame, F; sample_units: width of the sample-level MLP;
        sample_layers: its layers before the head (the first reads the window);
        lpc: the order of the linear-prediction stream the sample tier sees (0: none);
        lpc_history: the samples its coefficients are computed from (whole frames);
        pitch: the longest lag of the pitch stream the sample tier sees (0: none);
        pitch_window: the samples its lag is matched on (whole frames);
        input_noise: training only, the previous codes are moved by this many codes (a
        normal draw's standard deviation, rounded; 0: none)."""

        frame: int = 16
        sample_units: int = 256
        sample_layers: int = 2
        lpc: int = 0
        lpc_history: int = 384
        pitch: int = 0
        pitch_window: int = 128
        input_noise: float = 0.0

    def validate(self, config) -> None:
        o = self.options(config)
        if not 2 <= o.frame <= 256:
            raise AudioRNNError(f"--frame must be in [2, 256], got {o.frame}")
        if not (1 <= o.sample_units <= 4096 and 1 <= o.sample_layers <= 8):
            raise AudioRNNError("--sample-units must be in [1, 4096] and --sample-layers in [1, 8]")
        if not 0 <= o.input_noise <= 64:
            raise AudioRNNError(f"--input-noise must be in [0, 64] codes, got {o.input_noise:g}")
        if o.lpc and not (2 <= o.lpc <= 64 and o.lpc <= o.lpc_history <= 16384):
            raise AudioRNNError(f"--lpc takes an order in [2, 64] (0: none) and --lpc-history "
                                f"at least the order and at most 16384, got {o.lpc}, {o.lpc_history}")
        if o.pitch and not (o.frame + 1 < o.pitch <= 4096 and 1 <= o.pitch_window <= 4096):
            raise AudioRNNError(f"--pitch takes a longest lag above --frame + 1 and at most 4096 "
                                f"(0: none) and --pitch-window at most 4096, got {o.pitch}, "
                                f"{o.pitch_window}")
        others = [s.name for s in config.streams if s.embedded and s.per == "step" and not s.feedback]
        if not config.feedback or others:
            raise AudioRNNError("the tiered core models a signal from its own past; an input "
                                f"stream ({', '.join(others) or 'no previous code'}) needs "
                                "--core flat")

    def build(self, config, inputs, stateful=False):
        return build(config, self.options(config), inputs, stateful)

    def step_core(self, model, config):
        return TieredCore(model, config)

    def granularity(self, config) -> int:
        return self.options(config).frame


CORE = Tiered()
