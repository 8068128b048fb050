"""The model's input streams: a declared `Stream`, and one class per kind of stream.

A run's config declares its streams (name, kind, per step or per sequence,
where the dataset holds them). Everything a kind means lives in its class
below: its Keras input and features, its share of the step core's first
layer (a folded table and a per-step term, or a part of the per-sequence
bias), the value a training window holds, the value a scored sequence holds,
its value when a new hit is placed on the map, and its value at generation
with its default. The model builders, step cores, window sequence, scorer,
hit map and loops iterate over streams and call these methods.

This module imports no Keras at load time (the command line checks configs
before Keras is imported); the methods that build layers or step math import
it when called.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from audiornn import dsp
from audiornn.errors import AudioRNNError


@dataclass(frozen=True)
class Stream:
    """One declared input of the model: what it is, and where its values come from.

    Attributes:
      name: the model input's name ("prev", "dry", "label", a knob's name, ...).
      kind: one of KINDS: "code" (a mu-law code per step, embedded), "label" (a
        class index per sequence, embedded), "vector" (continuous values, fed
        as they are), "signal" (a code stream decoded to its float samples,
        per step: the regression head's dry input), "latent" (a learned point
        per training sequence: an index into a table of `classes` points of
        `size` dimensions while training, the point itself when generating;
        the one-shots' map) or "position" (per step: the step's index within
        the sequence divided by the one-shot length, computed, not stored) or
        "envelope" (per step: the hit's level, dsp.envelope_values; the dataset's
        while training, chosen from the training hits' when generating).
      per: "step" (a value at every sample) or "sequence" (one per sequence).
      source: where a dataset holds it: "target" (the previous output code:
        the stream generation feeds back), "input" (the dry code of the same
        step), "label", or the name of one of the dataset's conditions.
      size: the embedding size (code, label) or the vector's dimension.
      classes: the number of classes (codes: 256; labels: how many).
    """

    name: str
    kind: str
    per: str = "step"
    source: str = ""
    size: int = 64
    classes: int = 0

    @property
    def behaviour(self) -> Kind:
        """The class of this stream's kind (see KINDS)."""
        if self.kind not in KINDS:
            raise AudioRNNError(f"stream {self.name!r}: kind must be one of {tuple(KINDS)}")
        return KINDS[self.kind]

    def validate(self) -> None:
        self.behaviour.validate(self)

    @property
    def feedback(self) -> bool:
        """True for the previous output code, which generation feeds back."""
        return self.behaviour.feedback(self)

    @property
    def embedded(self) -> bool:
        """An index input looked up in a learned table (codes, labels, latent points)."""
        return self.behaviour.embedded

    @property
    def given(self) -> bool:
        """A per-step value the caller must give at every step (a dry input): the model
        applies to an input rather than sampling on its own."""
        return self.per == "step" and not self.feedback and not self.behaviour.computed \
            and not self.behaviour.envelope


def code_stream(name: str, source: str, size: int) -> Stream:
    return Stream(name, "code", "step", source, size, 256)


def label_stream(n_labels: int, size: int = 16) -> Stream:
    return Stream("label", "label", "sequence", "label", size, n_labels)


def signal_stream(name: str, source: str) -> Stream:
    return Stream(name, "signal", "step", source, 1, 0)


def vector_stream(name: str, size: int, per: str = "sequence") -> Stream:
    return Stream(name, "vector", per, name, size, 0)


def latent_stream(n_points: int, size: int = 2) -> Stream:
    """A learned point per training hit (n_points rows: the hits, then the centre)."""
    return Stream("latent", "latent", "sequence", "hit", size, n_points)


def position_stream() -> Stream:
    return Stream("position", "position", "step", "position", 1, 0)


def envelope_stream() -> Stream:
    """The hit's level at each step (the dataset's "envelope" condition)."""
    return Stream("envelope", "envelope", "step", "envelope", 1, 0)


def applies(streams) -> bool:
    """Whether a model with these streams applies to an input (an effect: a stream reads the
    dataset's dry "input") instead of sampling on its own."""
    return any(s.source == "input" for s in streams)


def knobs(streams) -> list[Stream]:
    """The continuous conditions a user sets (an effect's knobs, a dataset's conditions)."""
    return [s for s in streams if s.behaviour.knob]


def find(streams, attribute: str) -> Stream | None:
    """The first stream whose kind has `attribute` set ("computed", "map")."""
    return next((s for s in streams if getattr(s.behaviour, attribute)), None)


def middle(s: Stream, seen: dict) -> list[float]:
    """A knob's default: the middle of the values seen in training (0 where none were)."""
    return [(a + b) / 2 for a, b in zip(seen.get("min", [0.0] * s.size),
                                         seen.get("max", [0.0] * s.size))]


def position_values(start: int, n: int, scale: float) -> np.ndarray:
    """The position stream's values for steps start .. start + n - 1 within a hit."""
    return np.arange(start, start + n, dtype=np.float32) * np.float32(scale)


def fold_sequence_bias(bias0: np.ndarray, tables: dict, conditions: dict | None, batch: int):
    """Layer 0's input bias plus each per-sequence stream's values times its table, (batch, G).

    Args:
      bias0: (G,) the first layer's input bias.
      tables: per-sequence stream name -> (n, G) numpy table.
      conditions: stream name -> (batch, n) values (left out: contributes nothing).
      batch: number of sequences.
    """
    from keras import ops

    bias = np.tile(bias0, (batch, 1))
    for name, table in tables.items():
        v = (conditions or {}).get(name)
        if v is not None:
            bias = bias + np.broadcast_to(np.asarray(v, np.float32), (batch, table.shape[0])) @ table
    return ops.convert_to_tensor(bias.astype(np.float32))


# ---------------------------------------------------------------- the kinds


class Kind:
    """What one kind of stream means. Subclasses override what differs.

    Attributes:
      pers: the `per` values this kind allows.
      embedded: its input is an index into a learned table.
      computed: the loops compute its value at each step (not given by the caller).
      map: a learned point per training sequence (the one-shots' map).
      knob: a continuous condition a user sets, defaulting to the middle of training.
      sample_tier: per step, the tiered core adds it to the sample tier.
      float_input: float samples per step (the regression head's dry input).
      envelope: per step, the hit's level: the generator gives it (runtime/envelopes.py).
    """

    pers: tuple[str, ...] = ("step",)
    embedded = computed = map = knob = sample_tier = float_input = envelope = False

    def feedback(self, s: Stream) -> bool:
        return False

    def validate(self, s: Stream) -> None:
        if s.per not in ("step", "sequence"):
            raise AudioRNNError(f"stream {s.name!r}: per must be step or sequence")
        if s.per not in self.pers:
            raise AudioRNNError(f"stream {s.name!r}: a {s.kind} stream cannot be per {s.per}")
        if s.size < 1 or (self.embedded and s.classes < 1):
            raise AudioRNNError(f"stream {s.name!r}: size and classes must be positive")

    # ---------------------------------------------------------- Keras model

    def keras_input(self, s: Stream, batch: int | None):
        import keras

        shape = (None, s.size) if s.per == "step" else (s.size,)
        return keras.Input(shape, batch, dtype="float32", name=s.name)

    def features(self, s: Stream, x):
        """The features the model concatenates for this stream (its input, or its embedding)."""
        return x

    # ---------------------------------------------------------- step math

    def fold(self, s: Stream, model, rows: np.ndarray) -> np.ndarray:
        """Its table for the step core: the first layer's kernel rows this stream feeds,
        folded with its embedding where it has one, (classes or size, G)."""
        return rows

    def step_term(self, s: Stream, table, v):
        """Its per-step contribution to the first layer's projected input."""
        from keras import ops

        return ops.matmul(v, table)

    # ---------------------------------------------------------- training windows

    def check_dataset(self, s: Stream, dataset) -> None:
        """An error when a dataset does not hold what this stream reads."""

    def empty_batch(self, s: Stream, b: int, t: int) -> np.ndarray:
        if s.per == "step":
            return np.zeros((b, t, s.size), np.float32)
        return np.zeros((b, s.size), np.float32)

    def window(self, s: Stream, w, x: np.ndarray, j: int, row) -> None:
        """Fills row j of a training batch: `w` is the window sequence, `row` the window."""
        if s.per == "step":
            x[j, :row.n] = w.dataset.step_values[s.source][row.a:row.a + row.n]
        else:
            x[j] = row.seg.values[s.source]

    # ---------------------------------------------------------- scoring

    def scoring(self, s: Stream, seqs: list[dict], n: int, scorer) -> np.ndarray:
        """Its value for a batch of scored sequences (per step: (b, n, ...), else (b, ...))."""
        if s.per == "step":
            out = np.zeros((len(seqs), n, s.size), np.float32)
            for r, q in enumerate(seqs):
                v = q["step_values"][s.source]
                out[r, :len(v)] = v
            return out
        return np.array([q["values"][s.source] for q in seqs], np.float32)

    # ---------------------------------------------------------- generation

    def fit_value(self, s: Stream, hit) -> np.ndarray:
        """Its value when a new hit is placed on the map (hitmap: codes, labels, rows, n, scale)."""
        raise AudioRNNError(f"--like: the model's stream {s.name!r} has no value for a new hit")

    def condition(self, s: Stream, value, batch: int, gen) -> np.ndarray | None:
        """A per-sequence stream's value at generation, (batch, n); `value` None: its default."""
        return None


class Code(Kind):
    """A mu-law code per step, embedded: the previous output ("target") or a dry input."""

    embedded = True

    def feedback(self, s):
        return s.source == "target"

    def keras_input(self, s, batch):
        import keras

        return keras.Input((None,), batch, dtype="int32", name=s.name)

    def features(self, s, x):
        import keras

        return keras.layers.Embedding(s.classes, s.size, name=f"{s.name}_embedding")(x)

    def fold(self, s, model, rows):
        return model.get_layer(f"{s.name}_embedding").embeddings.numpy() @ rows

    def step_term(self, s, table, v):
        from keras import ops

        return ops.take(table, v, axis=0)

    def check_dataset(self, s, dataset):
        _need(s, dataset, dataset.streams)

    def empty_batch(self, s, b, t):
        return np.full((b, t), dsp.SILENCE_CODE, np.int32)

    def window(self, s, w, x, j, row):
        if not self.feedback(s):
            x[j, :row.n] = w.dataset.streams[s.source][row.a:row.a + row.n]
        elif row.segment_mode:  # position 0 is the segment's first code, predicted from silence
            x[j, 1:row.n] = w.target[row.start:row.start + row.n - 1]
        else:
            x[j] = w.target[row.start:row.start + row.t]

    def scoring(self, s, seqs, n, scorer):
        out = np.full((len(seqs), n), dsp.SILENCE_CODE, np.int32)
        shift = int(self.feedback(s))  # the previous code: one step later, silence first
        for r, q in enumerate(seqs):
            v = q["target"][:-1] if shift else q[s.source]
            out[r, shift:shift + len(v)] = v
        return out

    def fit_value(self, s, hit):
        if not self.feedback(s):
            return super().fit_value(s, hit)
        prev = np.concatenate([[dsp.SILENCE_CODE], hit.codes[:-1]]).astype(np.int32)
        return np.tile(prev, (hit.rows, 1))


class Signal(Kind):
    """A code stream decoded to its float samples, per step (the regression head's dry input)."""

    float_input = True

    def keras_input(self, s, batch):
        import keras

        return keras.Input((None, 1), batch, dtype="float32", name=s.name)

    def check_dataset(self, s, dataset):
        _need(s, dataset, dataset.streams)

    def window(self, s, w, x, j, row):
        table = w.sample_values[s.source]
        x[j, :row.n, 0] = table[w.dataset.streams[s.source][row.a:row.a + row.n]]


class Label(Kind):
    """A class index per sequence, embedded; a blend of classes at generation."""

    pers, embedded = ("sequence",), True

    def keras_input(self, s, batch):
        import keras

        return keras.Input((), batch, dtype="int32", name=s.name)

    def features(self, s, x):
        import keras

        return keras.layers.Embedding(s.classes, s.size, name=f"{s.name}_embedding")(x)

    def fold(self, s, model, rows):
        return model.get_layer(f"{s.name}_embedding").embeddings.numpy() @ rows

    def check_dataset(self, s, dataset):
        _need(s, dataset, {"label": 1})

    def empty_batch(self, s, b, t):
        return np.zeros((b,), np.int32)

    def window(self, s, w, x, j, row):
        x[j] = row.seg.label if row.seg.label is not None else 0

    def scoring(self, s, seqs, n, scorer):
        out = np.zeros((len(seqs), s.classes))
        for r, q in enumerate(seqs):
            out[r, q.get("label") or 0] = 1.0
        return out

    def fit_value(self, s, hit):
        return np.maximum(hit.labels, 0).astype(np.int32)

    def condition(self, s, value, batch, gen):
        return gen.mix  # the label weights: one-hot for one label, a blend for a mix


class Vector(Kind):
    """Continuous values fed as they are: a knob per sequence, or a value per step."""

    pers, knob, sample_tier = ("step", "sequence"), True, True

    def check_dataset(self, s, dataset):
        _need(s, dataset, dataset.meta["conditions"])

    def condition(self, s, value, batch, gen):
        v = middle(s, gen.config.job.conditions.get(s.name, {})) if value is None else value
        v = np.asarray(v, np.float64).reshape(-1)
        if v.size != s.size or not np.all(np.isfinite(v)):
            raise AudioRNNError(f"condition {s.name!r} takes {s.size} finite number(s), "
                                f"got {v.tolist()}")
        return np.tile(v, (batch, 1))


class Latent(Kind):
    """A learned point per training sequence (the one-shots' map): an index into a table
    while training, the point itself when generating."""

    pers, embedded, map = ("sequence",), True, True
    #: The map's penalty: this times the sum of squared table entries joins the loss,
    #: which keeps the map compact and centred on 0.
    PENALTY = 1e-4

    def keras_input(self, s, batch):
        import keras

        return keras.Input((), batch, dtype="int32", name=s.name)

    def features(self, s, x):
        """The table of points; training starts them from the hits' sound
        (hitmap.initial_points)."""
        import keras

        return keras.layers.Embedding(
            s.classes, s.size, name=f"{s.name}_embedding",
            embeddings_initializer=keras.initializers.RandomNormal(stddev=0.01),
            embeddings_regularizer=keras.regularizers.L2(self.PENALTY))(x)

    def check_dataset(self, s, dataset):
        n = len(dataset.split("train"))
        if s.classes != n + 1:
            raise AudioRNNError(f"{dataset.path}: the model's map has {s.classes - 1} "
                                f"training hits; this dataset has {n}")

    def empty_batch(self, s, b, t):
        return np.zeros((b,), np.int32)

    def window(self, s, w, x, j, row):  # a training hit's own point; others the centre row
        x[j] = w.hit_index.get(row.seg.offset, s.classes - 1)

    def scoring(self, s, seqs, n, scorer):  # a sequence's own point, else the map's centre row
        centre = scorer.core.latent_points[-1]
        return np.array([q.get("latent", centre) for q in seqs], np.float32)

    def fit_value(self, s, hit):
        return np.arange(hit.rows, dtype=np.int32)

    def condition(self, s, value, batch, gen):
        """A point of the map; left out, the mean point of the chosen label's (or blend's) hits."""
        if value is None:
            value = gen.map().centroid(None if gen.mix is None else gen.mix[0])
        v = np.asarray(value, np.float64)
        v = np.broadcast_to(v, (batch, s.size)) if v.size == s.size else v
        if v.shape != (batch, s.size) or not np.all(np.isfinite(v)):
            raise AudioRNNError(f"a point of the map takes {s.size} finite numbers")
        return v


class Position(Kind):
    """Per step: the step's index within the sequence over the one-shot length (computed)."""

    computed, sample_tier = True, True

    def keras_input(self, s, batch):
        import keras

        return keras.Input((None, 1), batch, dtype="float32", name=s.name)

    def empty_batch(self, s, b, t):
        return np.zeros((b, t, 1), np.float32)

    def window(self, s, w, x, j, row):
        x[j, :, 0] = position_values(row.a - row.seg.offset, row.t, w.position_scale)

    def scoring(self, s, seqs, n, scorer):
        return np.tile(position_values(0, n, scorer.position_scale)[None, :, None], (len(seqs), 1, 1))

    def fit_value(self, s, hit):
        return np.tile(position_values(0, hit.n, hit.scale)[None, :, None], (hit.rows, 1, 1))


class Envelope(Kind):
    """Per step: the hit's level (dsp.envelope_values), which the model follows; the
    dataset's values while training, a training hit's (or a blend's, or a dropped hit's)
    when generating."""

    sample_tier = envelope = True

    def keras_input(self, s, batch):
        import keras

        return keras.Input((None, 1), batch, dtype="float32", name=s.name)

    def check_dataset(self, s, dataset):
        _need(s, dataset, dataset.step_values)

    def fit_value(self, s, hit):
        return np.tile(np.asarray(hit.envelope, np.float32)[None, :hit.n, None], (hit.rows, 1, 1))


def _need(s: Stream, dataset, have) -> None:
    if s.source not in have:
        raise AudioRNNError(f"{dataset.path}: the model's stream {s.name!r} needs "
                            f"{s.source!r}, which this dataset does not have")


KINDS: dict[str, Kind] = {"code": Code(), "label": Label(), "vector": Vector(), "signal": Signal(),
                          "latent": Latent(), "position": Position(), "envelope": Envelope()}
