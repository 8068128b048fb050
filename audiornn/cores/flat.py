"""The flat core: stacked recurrent layers stepping once per sample, and their step math.

The Keras model: each stream's features (streams.py), concatenated in
declared order, feed `layers` stacked LSTM/GRU layers (dropout between them
while training); the head (heads/) reads the last one's output.

The step math on the trained weights, for step-by-step use:

Per-call overhead of Keras layers dominates at one sample per call, so the
step is written on the raw weights (DESIGN.md). Layer 0's input kernel is
split by declared stream (streams.Stream), in the builder's order:

  code stream (per step)       embedding @ kernel rows -> a (256, G) lookup table
  label (per sequence)         embedding @ kernel rows -> a (labels, G) table
  vector (per step/sequence)   the kernel rows themselves, (size, G)
  latent (per sequence)        the kernel rows, (size, G): a point of the map
  position (per step)          the kernel rows, (1, G)

Per-sequence streams and layer 0's input bias add up to one (batch, G)
`sequence_bias`; per-step streams are looked up (codes) or multiplied (vectors)
at every step. `Core.step` is the single step a sampling loop calls;
`Core.run` runs whole sequences (priming, input-only effects, scoring). Both
start from and return the recurrent state, so long audio goes in chunks.
The math is `keras.ops`; the cells are in cells.py.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from audiornn.cores.base import CoreType, concat, features, fold_tables, latent_points
from audiornn.cores.cells import CELLS, KERAS_LAYERS, stack_sequence, stack_step
from audiornn.streams import fold_sequence_bias


class Core:
    """The trained network as plain tensors: per-stream tables, cells and the output layer."""

    def __init__(self, model: keras.Model, config):
        self.config = config
        self.cells = [CELLS[config.cell](model.get_layer(f"rnn{i}"), first=i == 0)
                      for i in range(config.layers)]
        self.bias0 = self.cells[0].input_bias_np.astype(np.float32)
        tables, _ = fold_tables(model, config.streams, self.cells[0].kernel_np, 0)
        # stream name -> (classes, G) for codes/labels, (size, G) for vectors and points
        self.tables = {name: ops.convert_to_tensor(t) for name, t in tables.items()}
        if any(s.behaviour.map for s in config.streams):  # the points are the map
            self.latent_points = latent_points(model)
        dense = model.get_layer("logits")
        self.out_kernel = ops.convert_to_tensor(dense.kernel.numpy())
        self.out_bias = ops.convert_to_tensor(dense.bias.numpy())
        self.step_streams = [s for s in config.streams if s.per == "step"]
        self.sequence_streams = [s for s in config.streams if s.per == "sequence"]
        self.feedback = next((s.name for s in config.streams if s.feedback), None)

    @property
    def units(self) -> int:
        return self.config.units

    @property
    def gates(self) -> int:
        return self.cells[0].gates * self.units

    # ------------------------------------------------------------------ state and inputs

    def zero_state(self, batch: int) -> tuple:
        """The initial state: each cell's state tensors, flattened ((h, c) per LSTM layer)."""
        return tuple(t for c in self.cells for t in c.zero_state(batch))

    def sequence_bias(self, conditions: dict | None, batch: int):
        """The per-sequence part of layer 0's input: its bias plus every per-sequence stream.

        Args:
          conditions: stream name -> (batch, n) values: a label's weights over
            the classes (one-hot for one label, a blend for a mix), or a
            vector's values. A stream left out contributes nothing.
          batch: number of sequences.
        """
        return fold_sequence_bias(self.bias0, {n: ops.convert_to_numpy(self.tables[n])
                                               for n in (s.name for s in self.sequence_streams)},
                                  conditions, batch)

    def first_input(self, inputs: dict, bias):
        """Layer 0's projected input from the per-step streams ((batch,) or (batch, T) each)."""
        x = bias
        for s in self.step_streams:
            x = x + s.behaviour.step_term(s, self.tables[s.name], inputs[s.name])
        return x

    # ------------------------------------------------------------------ steps and sequences

    def step(self, inputs: dict, bias, state: tuple):
        """One time step for a batch of streams.

        Args:
          inputs: per-step stream name -> (batch,) codes or (batch, size) vectors.
          bias: (batch, G) from `sequence_bias`.
          state: the flattened state tuple.

        Returns:
          (logits (batch, 256), new state tuple).
        """
        h, new = stack_step(self.cells, self.first_input(inputs, bias), state)
        return ops.matmul(h, self.out_kernel) + self.out_bias, new

    def run(self, inputs: dict, bias, state: tuple, logits: bool = True):
        """Runs whole sequences (teacher forcing): (batch, T) inputs -> (batch, T, 256) logits.

        Args:
          inputs: per-step stream name -> (batch, T) codes or (batch, T, size) vectors.
          bias: (batch, G) from `sequence_bias`.
          state: the flattened state to start from.
          logits: False to skip the output layer (priming only needs the state).

        Returns:
          (logits or None, final state tuple).
        """
        zs = ops.transpose(self.first_input(inputs, ops.expand_dims(bias, 1)), (1, 0, 2))
        hs, new = stack_sequence(self.cells, zs, state)
        out = None
        if logits:
            out = ops.transpose(ops.matmul(hs, self.out_kernel) + self.out_bias, (1, 0, 2))
        return out, new


class Loop:
    """The streaming math of a regression effect (runtime.effect.Effect runs it compiled).

    The interface every effect core gives: `padded(n)` (the length a block of n
    samples runs at), `zero_state(rows)`, `bias(knobs)` (whatever the knob values
    fold into, computed once per setting) and `run(x, start, n, bias, state)`.
    Here: the cells' step math, each loop iteration running UNROLL steps (which
    halves the loop's overhead on a CPU); a padded step leaves the state as it was.
    """

    UNROLL = 16
    #: Pieces run side by side start from a warm-up, not the file's past (Effect).
    exact_pieces = False

    def __init__(self, model: keras.Model, config):
        m = config.model
        self.cells = [CELLS[m.cell](model.get_layer(f"rnn{i}"), i == 0) for i in range(m.layers)]
        self.w_in = self.cells[0].kernel_np.astype(np.float32)  # (1 + knobs, G): [dry, knobs...]
        self.b_in = self.cells[0].input_bias_np.astype(np.float32)
        head = model.get_layer("head")
        self.w_out = ops.convert_to_tensor(head.kernel.numpy()[:, 0])
        self.b_out = float(head.bias.numpy()[0])
        self.skip = bool(m.skip)
        self.knob_sizes = [s.size for s in m.streams if s.behaviour.knob]

    def padded(self, n: int) -> int:
        return -(-int(n) // self.UNROLL) * self.UNROLL

    def zero_state(self, rows: int) -> tuple:
        return tuple(s for c in self.cells for s in c.zero_state(rows))

    def bias(self, knobs: np.ndarray) -> np.ndarray:
        """The first layer's input bias with the knobs folded in (streams.fold_sequence_bias)."""
        tables, conditions, k = {}, {}, 1  # the kernel's rows: [dry, knobs...]
        for i, size in enumerate(self.knob_sizes):
            tables[i] = self.w_in[k:k + size]
            conditions[i] = np.asarray(knobs, np.float32)[None, k - 1:k - 1 + size]
            k += size
        return np.asarray(fold_sequence_bias(self.b_in, tables, conditions, 1))[0]

    def run(self, x, start, n, bias, state):
        """x: (rows, steps) padded dry samples; row r's state moves only at steps
        start[r] <= t < n. Returns (y (rows, steps), state)."""
        unroll = self.UNROLL
        rows, steps = ops.shape(x)[0], ops.shape(x)[1]
        zs = ops.expand_dims(x, -1) * self.w_in[0] + bias  # (rows, steps, G)
        zs = ops.reshape(ops.transpose(zs, (1, 0, 2)), (steps // unroll, unroll, rows, -1))

        def body(i, carry):
            ys, st = carry
            outs = []
            for k in range(unroll):
                h, new = stack_step(self.cells, zs[i, k], st)
                t = i * unroll + k
                valid = ops.expand_dims(ops.logical_and(start <= t, t < n), -1)
                st = tuple(ops.where(valid, a, b) for a, b in zip(new, st))
                outs.append(h)
            hs = ops.stack(outs, axis=1)  # (rows, UNROLL, H)
            ys = ops.slice_update(ys, (0, i * unroll), ops.matmul(hs, self.w_out) + self.b_out)
            return ys, st

        ys, state = ops.fori_loop(0, steps // unroll, body, (ops.zeros((rows, steps)), state))
        if self.skip:
            ys = ys + x
        return ys, state


class Flat(CoreType):
    """Recurrent layers at every sample (effects; the other jobs' --core flat)."""

    name = "flat"

    def build(self, config, inputs, stateful=False):
        reference = next(inputs[s.name] for s in config.streams if s.per == "step")
        x = concat(features(config.streams, inputs, reference), "inputs")
        rnn = KERAS_LAYERS[config.cell]
        for i in range(config.layers):
            x = rnn(config.units, return_sequences=True, stateful=stateful, name=f"rnn{i}")(x)
            if config.dropout and i < config.layers - 1:
                x = keras.layers.Dropout(config.dropout, name=f"dropout{i}")(x)
        return x

    def step_core(self, model, config):
        return Core(model, config)

    def effect_loop(self, model, config):
        return Loop(model, config)


CORE = Flat()
