"""Model configuration, the Keras model builder, and saving/loading a run directory.

One builder serves the three jobs; they differ only in which conditioning
inputs feed the recurrent core (DESIGN.md):

  generate:   prev (previous output code)                      -> next code logits
  effect:     dry (input code at step n) [+ prev when feedback] -> wet code logits
  one-shots:  prev + label (class index, broadcast over time)   -> next code logits
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

import keras
from keras import ops

from audiornn.errors import AudioRNNError
from audiornn.jsonfile import read_versioned, write_json_atomic  # noqa: F401 (re-exported)

RUN_FORMAT = "audiornn-run"
RUN_VERSION = 1
N_CLASSES = 256


@dataclass(frozen=True)
class ModelConfig:
    """The architecture; saved in config.json and the only source for rebuilding.

    Attributes:
      cell: "lstm" or "gru".
      layers: number of stacked recurrent layers.
      units: units per recurrent layer.
      embedding: size of the code embeddings (previous code, dry code).
      dropout: dropout between layers during training.
      feedback: feed the previous output code (False: an input-only effect model).
      dry_input: feed the dry input code of the same step (effects).
      n_labels: number of class labels (one-shots), 0 for none.
      label_embedding: size of the label embedding.
    """

    cell: str = "lstm"
    layers: int = 2
    units: int = 256
    embedding: int = 64
    dropout: float = 0.0
    feedback: bool = True
    dry_input: bool = False
    n_labels: int = 0
    label_embedding: int = 16

    def validate(self) -> None:
        if self.cell not in ("lstm", "gru"):
            raise AudioRNNError(f"--cell must be lstm or gru, got {self.cell!r}")
        if not 1 <= self.layers <= 8:
            raise AudioRNNError(f"--layers must be in [1, 8], got {self.layers}")
        if not 1 <= self.units <= 4096:
            raise AudioRNNError(f"--units must be in [1, 4096], got {self.units}")
        if not 0.0 <= self.dropout < 1.0:
            raise AudioRNNError(f"--dropout must be in [0, 1), got {self.dropout}")
        if not (self.feedback or self.dry_input):
            raise AudioRNNError("a model needs the previous code (feedback) or a dry input")

    @property
    def input_names(self) -> tuple[str, ...]:
        names = []
        if self.feedback:
            names.append("prev")
        if self.dry_input:
            names.append("dry")
        if self.n_labels:
            names.append("label")
        return tuple(names)


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


def build_model(config: ModelConfig) -> keras.Model:
    """Builds the many-to-many classifier: embeddings -> recurrent layers -> Dense(256) logits.

    Inputs are named "prev", "dry" and "label" as the config asks; every
    sequence input is (batch, time) int32 and "label" is (batch,) int32.
    The output is (batch, time, 256) float32 logits.
    """
    config.validate()
    inputs, parts = {}, []
    if config.feedback:
        inputs["prev"] = keras.Input((None,), dtype="int32", name="prev")
        parts.append(keras.layers.Embedding(N_CLASSES, config.embedding,
                                            name="prev_embedding")(inputs["prev"]))
    if config.dry_input:
        inputs["dry"] = keras.Input((None,), dtype="int32", name="dry")
        parts.append(keras.layers.Embedding(N_CLASSES, config.embedding,
                                            name="dry_embedding")(inputs["dry"]))
    if config.n_labels:
        inputs["label"] = keras.Input((), dtype="int32", name="label")
        vec = keras.layers.Embedding(config.n_labels, config.label_embedding,
                                     name="label_embedding")(inputs["label"])
        ref = inputs["prev"] if config.feedback else inputs["dry"]
        parts.append(BroadcastTime(name="label_broadcast")([vec, ref]))
    x = parts[0] if len(parts) == 1 else keras.layers.Concatenate(name="inputs")(parts)
    rnn = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[config.cell]
    for i in range(config.layers):
        x = rnn(config.units, return_sequences=True, name=f"rnn{i}")(x)
        if config.dropout and i < config.layers - 1:
            x = keras.layers.Dropout(config.dropout, name=f"dropout{i}")(x)
    logits = keras.layers.Dense(N_CLASSES, name="logits", dtype="float32")(x)
    return keras.Model(inputs, logits, name="audiornn")


def parameter_count(config: ModelConfig) -> int:
    """Number of trainable parameters of the model a config builds."""
    return int(build_model(config).count_params())


# ---------------------------------------------------------------- run directories


def read_run_config(run_dir: str | os.PathLike) -> dict:
    """Reads and checks a run's config.json; raises AudioRNNError with the reason."""
    return read_versioned(run_dir, "config.json", RUN_FORMAT, RUN_VERSION, "run")


def model_config_from(cfg: dict) -> ModelConfig:
    fields = {f.name for f in dataclasses.fields(ModelConfig)}
    return ModelConfig(**{k: v for k, v in cfg["model"].items() if k in fields})


def load_run(run_dir: str | os.PathLike) -> tuple[keras.Model, dict]:
    """Loads a run: rebuilds the model from config.json and loads model.keras into it.

    model.keras is opened in Keras safe mode (no code is deserialized); its
    weights are then set on the model that the config builds, so a file that
    does not match its config is an error rather than a silent surprise.

    Returns:
      (model, config dict).
    """
    run_dir = Path(run_dir)
    cfg = read_run_config(run_dir)
    path = run_dir / "model.keras"
    if not path.exists():
        raise AudioRNNError(f"{run_dir}: no model.keras yet (has an epoch finished?)")
    model = build_model(model_config_from(cfg))
    try:
        saved = keras.saving.load_model(path, compile=False, safe_mode=True)
        model.set_weights(saved.get_weights())
    except Exception as e:
        raise AudioRNNError(f"{path}: cannot be loaded ({str(e).splitlines()[0]})") from None
    return model, cfg


def save_model_atomic(model: keras.Model, path: str | os.PathLike) -> None:
    """Saves a .keras file under a temporary name, then renames it into place."""
    path = Path(path)
    tmp = path.parent / f".{path.stem}.tmp.keras"
    model.save(tmp)
    os.replace(tmp, path)
