"""The Keras model builder, and loading/saving a run directory.

One builder serves every job: it iterates over the model config's declared
streams (config.Stream). The tiered core's layers are in tiered.py; below is
the flat core. Per step, each code stream is embedded, each
per-step vector is taken as it is; per sequence, a label is embedded and a
vector taken as it is, then repeated along time. The features are concatenated
in declared order and feed the stacked recurrent layers and Dense(256) logits.
"""

from __future__ import annotations

import os
from pathlib import Path

import keras
import numpy as np
from keras import ops

from audiornn import dsp
from audiornn.cells import KERAS_LAYERS
from audiornn.config import ModelConfig, RunConfig, Stream, read_trained_run
from audiornn.errors import AudioRNNError
from audiornn.files import atomic_path


@keras.saving.register_keras_serializable(package="audiornn")
class BroadcastTime(keras.layers.Layer):
    """Repeats a per-sequence vector (batch, d) along the time axis of a reference."""

    def call(self, inputs):
        vector, reference = inputs
        steps = ops.shape(reference)[1]
        return ops.repeat(ops.expand_dims(vector, 1), steps, axis=1)

    def compute_output_shape(self, input_shapes):
        vector, reference = input_shapes
        return (vector[0], reference[1], vector[-1])

    def get_config(self):
        return super().get_config()


#: The latent map's penalty: this times the sum of squared table entries joins the
#: loss, which keeps the map compact and centred on 0.
LATENT_PENALTY = 1e-4


def latent_points(model: keras.Model) -> np.ndarray:
    """A map model's points: its latent table, (rows, dim)."""
    table = model.get_layer("latent_embedding").embeddings
    return keras.ops.convert_to_numpy(table).astype(np.float64)


def set_latent_points(model: keras.Model, points: np.ndarray) -> None:
    model.get_layer("latent_embedding").embeddings.assign(np.asarray(points, np.float32))


def embedding(s: Stream) -> keras.layers.Embedding:
    """The table of an embedded stream; a latent map's points are penalized (training starts
    them from the hits' sound: hitmap.initial_points)."""
    if s.kind == "latent":
        return keras.layers.Embedding(
            s.classes, s.size, name=f"{s.name}_embedding",
            embeddings_initializer=keras.initializers.RandomNormal(stddev=0.01),
            embeddings_regularizer=keras.regularizers.L2(LATENT_PENALTY))
    return keras.layers.Embedding(s.classes, s.size, name=f"{s.name}_embedding")


def stream_input(s: Stream, batch_size: int | None = None) -> keras.KerasTensor:
    """The Keras input of a declared stream (int32 codes/labels, float32 vectors)."""
    if s.kind == "code":
        return keras.Input((None,), batch_size, dtype="int32", name=s.name)
    if s.kind in ("label", "latent"):
        return keras.Input((), batch_size, dtype="int32", name=s.name)
    if s.kind in ("signal", "position"):
        return keras.Input((None, 1), batch_size, dtype="float32", name=s.name)
    shape = (None, s.size) if s.per == "step" else (s.size,)
    return keras.Input(shape, batch_size, dtype="float32", name=s.name)


def build_model(config: ModelConfig, stateful_batch: int | None = None) -> keras.Model:
    """Builds the many-to-many model: streams -> recurrent layers -> Dense(256) logits (or Dense(1)).

    Args:
      config: the architecture.
      stateful_batch: training only: a fixed batch size whose recurrent layers
        keep their state from one batch to the next (truncated backpropagation
        through consecutive windows; `train --stateful`). The weights are the
        same as the stateless model's.

    Returns a model whose inputs are a dict keyed by stream name and whose
    output is (batch, time, 256) float32 logits, or with the regression head
    (batch, time, 1) float32 samples (plus the dry input with `skip`).
    """
    config.validate()
    inputs = {s.name: stream_input(s, stateful_batch) for s in config.streams}
    stateful = stateful_batch is not None
    if config.core == "tiered":
        from audiornn import tiered

        return keras.Model(inputs, tiered.build(config, inputs, stateful), name="audiornn")
    reference = next(inputs[s.name] for s in config.streams if s.per == "step")
    parts = []
    for s in config.streams:
        x = inputs[s.name]
        if s.embedded:
            x = embedding(s)(x)
        if s.per == "sequence":
            x = BroadcastTime(name=f"{s.name}_broadcast")([x, reference])
        parts.append(x)
    x = parts[0] if len(parts) == 1 else keras.layers.Concatenate(name="inputs")(parts)
    rnn = KERAS_LAYERS[config.cell]
    for i in range(config.layers):
        x = rnn(config.units, return_sequences=True, stateful=stateful, name=f"rnn{i}")(x)
        if config.dropout and i < config.layers - 1:
            x = keras.layers.Dropout(config.dropout, name=f"dropout{i}")(x)
    if config.head == "regression":
        y = keras.layers.Dense(1, name="head", dtype="float32")(x)
        if config.skip:
            dry = next(inputs[s.name] for s in config.streams if s.kind == "signal")
            y = keras.layers.Add(name="skip")([y, dry])
        return keras.Model(inputs, y, name="audiornn")
    logits = keras.layers.Dense(dsp.N_CLASSES, name="logits", dtype="float32")(x)
    return keras.Model(inputs, logits, name="audiornn")


def parameter_count(config: ModelConfig) -> int:
    """Number of trainable parameters of the model a config builds."""
    return int(build_model(config).count_params())


def load_run(run_dir: str | os.PathLike) -> tuple[keras.Model, RunConfig]:
    """Loads a run: rebuilds the model from config.json and loads model.keras into it.

    model.keras is opened in Keras safe mode (no code is deserialized); its
    weights are then set on the model that the config builds, so a file that
    does not match its config is an error rather than a silent surprise.

    Returns:
      (model, run config).
    """
    run_dir = Path(run_dir)
    cfg = read_trained_run(run_dir)
    path = run_dir / "model.keras"
    model = build_model(cfg.model)
    try:
        saved = keras.saving.load_model(path, compile=False, safe_mode=True)
        model.set_weights(saved.get_weights())
    except Exception as e:
        raise AudioRNNError(f"{path}: cannot be loaded ({str(e).splitlines()[0]})") from None
    return model, cfg


def save_model_atomic(model: keras.Model, path: str | os.PathLike) -> None:
    """Saves a .keras file under a temporary name, then renames it into place."""
    with atomic_path(path) as tmp:
        model.save(tmp)
