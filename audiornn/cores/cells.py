"""One class per recurrent cell: its weights read from the trained Keras layer, its step math.

The `lstm`/`gru` differences live only here. Each cell knows its gate layout
(the Keras layout: LSTM i, f, g, o; GRU z, r, h with `reset_after`), its
state, one step, and a run over a sequence. The math is written with
`keras.ops`, so the same cells run inside TensorFlow's compiled loops today
and under another Keras backend's loop later.

Layer 0's input kernel and input bias are not applied here: the step core
folds them into per-stream lookup tables and a per-sequence bias, so layer 0
receives its input already projected ("z_in").
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops


def _t(x):
    return ops.convert_to_tensor(np.asarray(x, np.float32))


class Cell:
    """The trained weights of one recurrent layer.

    Attributes:
      kernel_np: (inputs, G) the input kernel as numpy (layer 0's is folded elsewhere).
      input_bias_np: (G,) the bias that goes with the input projection.
    """

    gates = 0  # gate blocks per unit
    n_state = 0  # state tensors per layer

    def __init__(self, layer: keras.layers.Layer, first: bool):
        cell = layer.cell
        self.units = int(cell.units)
        self.first = first
        self.kernel_np = cell.kernel.numpy()
        self.recurrent = _t(cell.recurrent_kernel.numpy())

    def zero_state(self, batch: int) -> tuple:
        return tuple(ops.zeros((batch, self.units)) for _ in range(self.n_state))

    def project(self, x):
        """The input projection of a lower layer's output (any leading shape)."""
        return ops.matmul(x, self.kernel) + self.bias

    def sequence(self, zs, state: tuple):
        """Runs projected inputs zs (T, batch, G) from `state`; returns (hs (T, batch, H), state)."""

        def body(carry, z):
            _, carry = self.step(z, carry)
            return carry, carry  # Keras' scan wants outputs shaped like the carry; h is first

        state, outs = ops.scan(body, tuple(state), zs)
        return outs[0], tuple(state)


class LSTM(Cell):
    """Keras LSTM: gates i, f, g, o; state (h, c)."""

    gates, n_state = 4, 2

    def __init__(self, layer, first: bool):
        super().__init__(layer, first)
        self.input_bias_np = layer.cell.bias.numpy()
        if not first:
            self.kernel = _t(self.kernel_np)
            self.bias = _t(self.input_bias_np)
            # One matmul for both inputs of a step: [x, h] @ [kernel; recurrent].
            self.stacked = _t(np.concatenate([self.kernel_np, layer.cell.recurrent_kernel.numpy()]))

    def _gates(self, z, c):
        i, f, g, o = ops.split(z, 4, axis=-1)
        c = ops.sigmoid(f) * c + ops.sigmoid(i) * ops.tanh(g)
        return ops.sigmoid(o) * ops.tanh(c), c

    def step(self, z_in, state):
        """One step from a projected input (batch, G): returns (h, new state)."""
        h, c = state
        h, c = self._gates(z_in + ops.matmul(h, self.recurrent), c)
        return h, (h, c)

    def step_raw(self, x, state):
        """One step from the lower layer's output (batch, in)."""
        h, c = state
        z = ops.matmul(ops.concatenate([x, h], axis=-1), self.stacked) + self.bias
        h, c = self._gates(z, c)
        return h, (h, c)


class GRU(Cell):
    """Keras GRU with reset_after: gates z, r, h; a separate recurrent bias; state (h,)."""

    gates, n_state = 3, 1

    def __init__(self, layer, first: bool):
        super().__init__(layer, first)
        b = layer.cell.bias.numpy()
        self.input_bias_np = b[0]
        self.recurrent_bias = _t(b[1])
        if not first:
            self.kernel = _t(self.kernel_np)
            self.bias = _t(b[0])

    def step(self, z_in, state):
        (h,) = state
        rz = ops.matmul(h, self.recurrent) + self.recurrent_bias
        x_z, x_r, x_h = ops.split(z_in, 3, axis=-1)
        r_z, r_r, r_h = ops.split(rz, 3, axis=-1)
        z = ops.sigmoid(x_z + r_z)
        r = ops.sigmoid(x_r + r_r)
        hh = ops.tanh(x_h + r * r_h)
        h = z * h + (1.0 - z) * hh
        return h, (h,)

    def step_raw(self, x, state):
        return self.step(self.project(x), state)


CELLS = {"lstm": LSTM, "gru": GRU}


def stack_step(cells: list[Cell], z0, state: tuple):
    """One step through stacked cells (layer 0 from its projected input): (top h, new state).

    `state` is every cell's state tensors, flattened in order.
    """
    new, k, h = [], 0, None
    for i, cell in enumerate(cells):
        st = tuple(state[k:k + cell.n_state])
        h, st = cell.step(z0, st) if i == 0 else cell.step_raw(h, st)
        new += list(st)
        k += cell.n_state
    return h, tuple(new)


def stack_sequence(cells: list[Cell], zs, state: tuple):
    """Runs stacked cells over time from layer 0's projected inputs zs (T, batch, G).

    Returns (the top layer's outputs (T, batch, H), the final flattened state).
    """
    new, k, hs = [], 0, None
    for i, cell in enumerate(cells):
        if i > 0:
            zs = cell.project(hs)
        hs, st = cell.sequence(zs, tuple(state[k:k + cell.n_state]))
        new += list(st)
        k += cell.n_state
    return hs, tuple(new)
KERAS_LAYERS = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}
