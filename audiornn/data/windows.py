"""Training windows streamed from the memory-mapped code streams.

A window of T + 1 consecutive codes of one segment gives T inputs (codes
0..T-1, the "previous code" at each step) and T targets (codes 1..T). The
first `burn_in` positions get sample weight 0, so every scored prediction has
at least that much context. Windows are views into the memory map: an hour of
audio costs its bytes on disk, not RAM.

The model's declared streams (streams.Stream) say what each batch holds: a code
stream from "target" is the previous code, one from "input" the dry code of
the same step, a label the segment's label, a per-sequence vector the
segment's values, a per-step vector the dataset's values at the same step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import keras
import numpy as np

from audiornn import dsp
from audiornn.data import Dataset, Segment
from audiornn.errors import AudioRNNError
from audiornn.streams import Stream, code_stream


def hit_index(dataset: Dataset) -> dict[int, int]:
    """Each training segment's row in a latent map (by its offset): the training split's order."""
    return {seg.offset: k for k, seg in enumerate(dataset.split("train"))}


def position_length(meta: dict) -> int:
    """The length that position 1.0 stands for: a one-shot dataset's hit length (else 1)."""
    return int(meta.get("oneshot", {}).get("length_samples", 1))


class WindowSequence(keras.utils.PyDataset):
    """A `keras.utils.PyDataset` of (inputs, targets, sample_weights) batches.

    Args:
      dataset: an opened Dataset.
      split: "train" (random windows, reshuffled every epoch) or "val" (a fixed
        tiling of the validation segments).
      window: T, the number of scored-or-burned positions per window.
      burn_in: leading positions with zero weight.
      batch_size: windows per batch.
      steps: batches per epoch for "train" (default: one pass over the codes).
      seed: with the epoch number, fixes every batch.
      streams: the model's declared input streams (what each batch holds);
        default: the previous code alone.
      start_mode: "random" draws window starts anywhere a full window fits;
        "segment" starts each window at the beginning of a segment (one-shots)
        with a silence code before it, zero-padded past the segment's end. With
        a window shorter than the segments, the odd rows of a training batch
        take a later stretch of their segment instead (a random one, whose
        first `burn_in` positions are not scored), and validation tiles each
        segment (its start, then stretches `window - burn_in` apart): the start
        from silence in every other row, the rest of the hit in the others.
      max_windows: cap on validation windows (evenly spaced), None for all.
      carry: "train" with random starts: each row of a batch continues where
        the same row of the previous batch ended, for `carry` batches in a row
        (then all rows draw new starts): consecutive windows for a model whose
        state is carried across batches. 1: independent windows.
      full_batches: fill the last validation batch to `batch_size` rows with
        the first windows again (at full weight), for models with a fixed batch
        size and for strategies that split a batch over replicas. Zero-weight
        rows would not do: Keras weighs each replica's mean loss by its row
        count, so a replica holding only padding adds a zero loss.
      regression: targets are the wet samples (batch, T, 1) as floats (the
        codes decoded) and weights are per row (batch,): the regression loss
        leaves out the burn-in itself.
      shard: (index, count): this process's rows of every batch, the index-th
        of `count` equal slices (JAX multi-process training, where each
        process feeds its share of the global batch).
      **kwargs: passed to PyDataset (workers, use_multiprocessing, ...).

    Inputs are a dict keyed by model input name; targets are (batch, T) codes
    (or samples, with `regression`). A "signal" stream is its code stream
    decoded to float samples (batch, T, 1).
    """

    def __init__(self, dataset: Dataset, split: str, window: int, burn_in: int,
                 batch_size: int, steps: int | None = None, seed: int = 0,
                 streams: tuple[Stream, ...] | None = None, start_mode: str = "random",
                 max_windows: int | None = 256, carry: int = 1, full_batches: bool = False,
                 regression: bool = False, shard: tuple[int, int] = (0, 1), **kwargs):
        super().__init__(**kwargs)
        if batch_size % shard[1]:
            raise AudioRNNError(f"--batch-size {batch_size} must split evenly over {shard[1]} workers")
        self.shard = shard
        if burn_in >= window:
            raise AudioRNNError(f"burn-in ({burn_in}) must be shorter than the window ({window})")
        self.dataset, self.split, self.window, self.burn_in = dataset, split, window, burn_in
        self.batch_size, self.seed, self.start_mode = batch_size, seed, start_mode
        self.streams = tuple((code_stream("prev", "target", 64),) if streams is None else streams)
        self.carry, self.full_batches = max(1, int(carry)), full_batches
        self.regression = regression
        codec = dataset.codec
        self.sample_values = {k: codec.values() / np.float32(codec.gain(k)) for k in codec.gains}
        self.epoch = 0
        self.start_step = 0  # a resumed epoch's first batch (the steps before it were trained)
        self.target = dataset.streams["target"]
        segs = dataset.split(split)
        self.hit_index = hit_index(dataset)
        self.position_scale = 1.0 / position_length(dataset.meta)
        for st in self.streams:
            st.behaviour.check_dataset(st, dataset)
        if not segs:
            raise AudioRNNError(f"{dataset.path}: the dataset has no {split!r} split")
        span = window * (self.carry if split == "train" else 1)
        if start_mode == "segment":
            self.segments = segs
            self.starts = np.array([s.offset for s in segs], dtype=np.int64)
            # later stretches: a window and the code before it inside the segment
            self.later = [s for s in segs if s.length > window]
        else:
            self.segments = [s for s in segs if s.length >= span + 1]
            if not self.segments:
                longest = max(s.length for s in segs)
                raise AudioRNNError(
                    f"{dataset.path}: the window ({span} + 1 codes) is longer than every "
                    f"{split} segment (longest {longest}); use a shorter --window")
        n_valid = np.array([s.length - span for s in self.segments], dtype=np.int64)
        self._cum = np.cumsum(np.maximum(n_valid, 1))
        if split == "train":
            if start_mode == "segment":
                default_steps = math.ceil(len(self.segments) / batch_size)
            else:
                default_steps = max(1, int(sum(s.length for s in self.segments)
                                           // (window * batch_size)))
            self.steps = steps or default_steps
        else:
            self.val_starts = self._val_starts(max_windows)
            self.steps = math.ceil(len(self.val_starts) / batch_size)

    # ----------------------------------------------------------- window choice

    def _val_starts(self, max_windows: int | None) -> list[tuple[int, Segment]]:
        if self.start_mode == "segment":  # the start, then later stretches with burn-in
            stride = self.window - self.burn_in
            out = [(s.offset + k, s) for s in self.segments
                   for k in [0, *range(stride, s.length - self.window + 1, stride)]]
        else:
            stride = self.window - self.burn_in
            out = [(s.offset + k, s) for s in self.segments
                   for k in range(0, s.length - self.window, stride)]
        if max_windows and len(out) > max_windows:
            pick = np.linspace(0, len(out) - 1, max_windows).round().astype(int)
            out = [out[k] for k in pick]
        return out

    def _train_starts(self, idx: int) -> list[tuple[int, Segment]]:
        if self.carry > 1:  # row j continues its own stretch: windows k = idx mod carry
            starts = self._random_starts(idx // self.carry)
            return [(s + (idx % self.carry) * self.window, seg) for s, seg in starts]
        return self._random_starts(idx)

    def _random_starts(self, idx: int) -> list[tuple[int, Segment]]:
        rng = np.random.default_rng([self.seed, self.epoch, idx])
        if self.start_mode == "segment":
            order = np.random.default_rng([self.seed, self.epoch]).permutation(len(self.segments))
            picks = [order[(idx * self.batch_size + j) % len(order)]
                     for j in range(self.batch_size)]
            out = [(self.segments[k].offset, self.segments[k]) for k in picks]
            for j in range(1, len(out), 2) if self.later else ():  # odd rows: later stretches
                seg = self.later[int(rng.integers(len(self.later)))]
                out[j] = (seg.offset + int(rng.integers(1, seg.length - self.window + 1)), seg)
            return out
        draws = rng.integers(0, self._cum[-1], self.batch_size)
        seg_idx = np.searchsorted(self._cum, draws, side="right")
        out = []
        for d, k in zip(draws, seg_idx):
            seg = self.segments[k]
            before = self._cum[k - 1] if k > 0 else 0
            out.append((seg.offset + int(d - before), seg))
        return out

    # ----------------------------------------------------------- PyDataset API

    def __len__(self) -> int:
        return self.steps - self.start_step

    def on_epoch_end(self) -> None:
        self.epoch += 1

    def set_epoch(self, epoch: int) -> None:
        """Pins the epoch number (used so a resumed run draws the same windows)."""
        self.epoch = int(epoch)

    def __getitem__(self, idx: int):
        if self.split == "train":
            starts = self._train_starts(idx + self.start_step)
        else:
            starts = self.val_starts[idx * self.batch_size:(idx + 1) * self.batch_size]
            if self.full_batches and len(starts) < self.batch_size:
                wrap = self.val_starts * -(-self.batch_size // len(self.val_starts))
                starts = starts + wrap[:self.batch_size - len(starts)]
        if self.shard[1] > 1:
            rows = len(starts) // self.shard[1]
            starts = starts[self.shard[0] * rows:(self.shard[0] + 1) * rows]
        return self.batch(starts)

    def batch(self, starts: list[tuple[int, Segment]]):
        """Assembles the arrays for a list of (start offset, segment).

        Step-aligned arrays are read at positions s + 1 .. s + T (the steps
        whose next codes are the targets); the previous code at s .. s + T - 1.
        Each stream's kind fills its own array (streams.py).
        """
        T, b = self.window, len(starts)
        target = np.empty((b, T), dtype=np.int32)
        weight = np.ones((b, T), dtype=np.float32)
        x = {st.name: st.behaviour.empty_batch(st, b, T) for st in self.streams}
        for j, (s, seg) in enumerate(starts):
            # Segment mode: a window at the segment's start comes from silence, unburned;
            # a later stretch of it (s > its offset) reads as a random window, burned in.
            segment_mode = self.start_mode == "segment" and s == seg.offset
            if not segment_mode:
                weight[j, :self.burn_in] = 0.0
            if self.start_mode == "segment" and not segment_mode:
                s -= 1  # a later stretch: its previous code is the one before it
            n = min(T, seg.length) if segment_mode else T
            target[j, :n] = self.target[s:s + n] if segment_mode else self.target[s + 1:s + T + 1]
            target[j, n:] = dsp.SILENCE_CODE
            weight[j, n:] = 0.0
            # Segment mode: position 0 is the segment's first code, predicted from silence.
            row = Row(start=s, a=s if segment_mode else s + 1, n=n, t=T, seg=seg,
                      segment_mode=segment_mode)
            for st in self.streams:
                st.behaviour.window(st, self, x[st.name], j, row)
        for st in self.streams:  # a hit's silence (its padding past its end) is not scored
            if st.behaviour.envelope:
                weight *= x[st.name][..., 0] > 0
        if self.regression:
            y = self.sample_values["target"][target][..., None]
            return x, y, np.ones((b,), np.float32)
        return x, target, weight


@dataclass(frozen=True)
class Row:
    """One window of a batch: its start, the first step-aligned position `a`, the codes it
    holds `n` of `t`, its segment, and whether windows start at segments."""

    start: int
    a: int
    n: int
    t: int
    seg: Segment
    segment_mode: bool
