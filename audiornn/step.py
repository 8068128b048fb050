"""The recurrent core written on the trained weights, for step-by-step use.

Per-call overhead of Keras layers dominates at one sample per call, so the
step is written on the raw weights (DESIGN.md): each embedding is folded into
the first layer's input kernel (a 256 x gates lookup table), the first layer's
input bias is folded into the same table, and every layer's gates come from
one matmul. `Core.step` is the single-step function a sampling loop calls;
`Core.run` runs whole sequences layer by layer (one big input matmul per layer,
then the recurrence), for priming, input-only effects and scoring. Both start
from and return the recurrent state, so long audio is processed in chunks.

This module is TensorFlow only and knows nothing of files; a JAX loop could
reuse the same extracted numpy weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from audiornn.model import ModelConfig


@dataclass
class LayerWeights:
    kernel: tf.Tensor | None  # (in, G), None for layer 0 (folded into the tables)
    recurrent: tf.Tensor  # (H, G)
    bias: tf.Tensor  # (G,) input bias (LSTM: the only bias); zeros for layer 0
    recurrent_bias: tf.Tensor | None  # GRU (reset_after): (G,)
    stacked: tf.Tensor | None  # LSTM layers > 0: [kernel; recurrent] for one matmul


class Core:
    """The trained network as plain tensors: tables, per-layer weights and the output layer."""

    def __init__(self, model: keras.Model, config: ModelConfig):
        self.config = config
        self.cell = config.cell
        self.units = config.units
        c = config
        first = model.get_layer("rnn0").cell
        k0 = first.kernel.numpy()
        if self.cell == "lstm":
            b_in0 = first.bias.numpy()
        else:
            b_in0 = first.bias.numpy()[0]
        pos = 0
        self.prev_table = self.dry_table = self.label_table = None
        if c.feedback:
            e = model.get_layer("prev_embedding").embeddings.numpy()
            self.prev_table = tf.constant(e @ k0[pos:pos + e.shape[1]] + b_in0, tf.float32)
            pos += e.shape[1]
        if c.dry_input:
            e = model.get_layer("dry_embedding").embeddings.numpy()
            table = e @ k0[pos:pos + e.shape[1]]
            if not c.feedback:
                table = table + b_in0
            self.dry_table = tf.constant(table, tf.float32)
            pos += e.shape[1]
        if c.n_labels:
            e = model.get_layer("label_embedding").embeddings.numpy()
            self.label_table = tf.constant(e @ k0[pos:pos + e.shape[1]], tf.float32)
            pos += e.shape[1]
        assert pos == k0.shape[0], "input kernel rows do not match the embeddings"
        self.layers: list[LayerWeights] = []
        for i in range(c.layers):
            cell = model.get_layer(f"rnn{i}").cell
            kern = None if i == 0 else tf.constant(cell.kernel.numpy())
            rec = tf.constant(cell.recurrent_kernel.numpy())
            if self.cell == "lstm":
                bias = np.zeros_like(cell.bias.numpy()) if i == 0 else cell.bias.numpy()
                rbias = None
            else:
                b = cell.bias.numpy()
                bias, rbias = (np.zeros_like(b[0]) if i == 0 else b[0]), tf.constant(b[1])
            stacked = None
            if i > 0 and self.cell == "lstm":
                stacked = tf.concat([kern, rec], axis=0)
            self.layers.append(LayerWeights(kern, rec, tf.constant(bias), rbias, stacked))
        dense = model.get_layer("logits")
        self.out_kernel = tf.constant(dense.kernel.numpy())
        self.out_bias = tf.constant(dense.bias.numpy())

    # ------------------------------------------------------------------ state

    def zero_state(self, batch: int) -> tuple[tf.Tensor, ...]:
        """The initial state: (h, c) per LSTM layer, (h,) per GRU layer, flattened."""
        n = 2 if self.cell == "lstm" else 1
        return tuple(tf.zeros((batch, self.units)) for _ in range(n * len(self.layers)))

    def label_bias(self, mix: np.ndarray | None, batch: int) -> tf.Tensor:
        """The per-stream constant that a label (or a blend of labels) adds to layer 0.

        Args:
          mix: (batch, n_labels) weights (one-hot for a pure label), or None.
        """
        gates = (4 if self.cell == "lstm" else 3) * self.units
        if self.label_table is None or mix is None:
            return tf.zeros((batch, gates))
        return tf.matmul(tf.constant(mix, tf.float32), self.label_table)

    def first_input(self, prev, dry, label_bias):
        """Layer 0's input projection for codes prev/dry (either may be None)."""
        x = label_bias
        if self.prev_table is not None:
            x = x + tf.gather(self.prev_table, prev)
        if self.dry_table is not None:
            x = x + tf.gather(self.dry_table, dry)
        return x

    # ------------------------------------------------------------------ cells

    def _lstm(self, z, c):
        i, f, g, o = tf.split(z, 4, axis=-1)
        c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
        return tf.sigmoid(o) * tf.tanh(c), c

    def _gru(self, xz, h, layer: LayerWeights):
        rz = tf.matmul(h, layer.recurrent) + layer.recurrent_bias
        x_z, x_r, x_h = tf.split(xz, 3, axis=-1)
        r_z, r_r, r_h = tf.split(rz, 3, axis=-1)
        z = tf.sigmoid(x_z + r_z)
        r = tf.sigmoid(x_r + r_r)
        hh = tf.tanh(x_h + r * r_h)
        return z * h + (1.0 - z) * hh

    def step(self, x0, state):
        """One time step for a batch of streams.

        Args:
          x0: (batch, G) layer 0's input projection (from `first_input`).
          state: the flattened state tuple.

        Returns:
          (logits (batch, 256), new state tuple).
        """
        new = []
        inp = None
        for i, layer in enumerate(self.layers):
            if self.cell == "lstm":
                h, c = state[2 * i], state[2 * i + 1]
                if i == 0:
                    z = x0 + tf.matmul(h, layer.recurrent)
                else:
                    z = tf.matmul(tf.concat([inp, h], axis=-1), layer.stacked) + layer.bias
                h, c = self._lstm(z, c)
                new += [h, c]
            else:
                h = state[i]
                xz = x0 if i == 0 else tf.matmul(inp, layer.kernel) + layer.bias
                h = self._gru(xz, h, layer)
                new.append(h)
            inp = h
        logits = tf.matmul(inp, self.out_kernel) + self.out_bias
        return logits, tuple(new)

    # ------------------------------------------------------------------ sequences

    def _layer_sequence(self, xs, layer: LayerWeights, state):
        """Runs one layer over time. xs: (T, batch, G) input projections (time major)."""
        if self.cell == "lstm":
            def body(carry, x):
                h, c = carry
                return self._lstm(x + tf.matmul(h, layer.recurrent), c)
            hs, cs = tf.scan(body, xs, initializer=state)
            return hs, (hs[-1], cs[-1])

        def body_gru(h, x):
            return self._gru(x, h, layer)
        hs = tf.scan(body_gru, xs, initializer=state[0])
        return hs, (hs[-1],)

    def run(self, prev, dry, label_bias, state, logits: bool = True):
        """Runs whole sequences (teacher forcing): (batch, T) codes -> (batch, T, 256) logits.

        Args:
          prev: (batch, T) previous codes, or None for an input-only model.
          dry: (batch, T) dry codes, or None.
          label_bias: (batch, G) from `label_bias`.
          state: the flattened state to start from.
          logits: False to skip the output layer (priming only needs the state).

        Returns:
          (logits or None, final state tuple).
        """
        x = self.first_input(prev, dry, label_bias[:, None, :])  # (B, T, G)
        xs = tf.transpose(x, [1, 0, 2])
        new = []
        n = 2 if self.cell == "lstm" else 1
        hs = None
        for i, layer in enumerate(self.layers):
            if hs is not None:
                xs = tf.einsum("tbh,hg->tbg", hs, layer.kernel) + layer.bias
            hs, st = self._layer_sequence(xs, layer, tuple(state[n * i:n * (i + 1)]))
            new += list(st)
        out = None
        if logits:
            out = tf.einsum("tbh,hk->btk", hs, self.out_kernel) + self.out_bias
        return out, tuple(new)
