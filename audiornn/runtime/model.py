"""The Keras model builder, and loading/saving a run directory.

One builder serves every job, core and head: each declared stream makes its
Keras input (streams.py), the registered core turns them into features
(cores/) and the registered head into the output (heads/).
"""

from __future__ import annotations

import os
from pathlib import Path

import keras

from audiornn import cores, heads
from audiornn.config import ModelConfig, RunConfig, read_trained_run
from audiornn.errors import AudioRNNError
from audiornn.files import atomic_path


def build_model(config: ModelConfig, stateful_batch: int | None = None) -> keras.Model:
    """Builds the many-to-many model: stream inputs -> the core -> the head.

    Args:
      config: the architecture.
      stateful_batch: training only: a fixed batch size whose recurrent layers
        keep their state from one batch to the next (truncated backpropagation
        through consecutive windows; `train --stateful`). The weights are the
        same as the stateless model's.

    Returns a model whose inputs are a dict keyed by stream name and whose
    output is the head's: (batch, time, 256) float32 logits, or with the
    regression head (batch, time, 1) float32 samples.
    """
    config.validate()
    inputs = {s.name: s.behaviour.keras_input(s, stateful_batch) for s in config.streams}
    x = cores.get(config.core).build(config, inputs, stateful_batch is not None)
    return keras.Model(inputs, heads.get(config.head).build(x, inputs, config), name="audiornn")


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
