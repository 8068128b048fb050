"""What every core shares: the core type's interface, per-sequence features broadcast along
time, the first layer's kernel folded by stream, and the one-shots' map table."""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
from keras import ops


class CoreType:
    """A core: its settings, its Keras layers and its step math.

    Attributes:
      name: the registry key, saved in run configs.
      Options: the dataclass of its own settings (ModelConfig.options holds them).
    """

    name = ""

    @dataclasses.dataclass(frozen=True)
    class Options:
        pass

    def options(self, config):
        """The core's settings of a model config, typed. Settings of other cores are left
        out (as a flat core always ignored --frame); `train` stores only the core's own."""
        names = {f.name for f in dataclasses.fields(self.Options)}
        return self.Options(**{k: v for k, v in config.options.items() if k in names})

    def validate(self, config) -> None:
        self.options(config)

    def build(self, config, inputs: dict, stateful: bool = False):
        """The core's output features (batch, time, width), from the stream inputs."""
        raise NotImplementedError

    def step_core(self, model: keras.Model, config):
        """The trained network as plain tensors (see flat.Core for the interface)."""
        raise NotImplementedError

    def train_defaults(self, config) -> dict:
        """Training settings this core wants unless given (TrainConfig fields)."""
        return {}

    def effect_loop(self, model: keras.Model, config):
        """The streaming math of a regression effect (flat.Loop for the interface)."""
        from audiornn.errors import AudioRNNError

        raise AudioRNNError(f"--core {self.name} does not apply effects; train them with "
                            "--core flat or wavenet")

    def granularity(self, config) -> int:
        """Samples per step of its slowest part: chunks, windows and burn-in are cut at
        multiples of it, where a sequence run continues exactly."""
        return 1


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


def features(streams, inputs: dict, reference) -> list:
    """Each stream's features, per-sequence ones repeated along the time of `reference`."""
    out = []
    for s in streams:
        x = s.behaviour.features(s, inputs[s.name])
        if s.per == "sequence":
            x = BroadcastTime(name=f"{s.name}_broadcast")([x, reference])
        out.append(x)
    return out


def concat(parts: list, name: str):
    return parts[0] if len(parts) == 1 else keras.layers.Concatenate(name=name)(parts)


def fold_tables(model: keras.Model, streams, kernel: np.ndarray, start: int) -> tuple[dict, int]:
    """The first layer's kernel rows from `start` on, split by stream and folded with each
    stream's embedding: (stream name -> (classes or size, G) numpy table, the end row)."""
    tables, pos = {}, start
    for s in streams:
        tables[s.name] = s.behaviour.fold(s, model, kernel[pos:pos + s.size]).astype(np.float32)
        pos += s.size
    if pos != kernel.shape[0]:
        raise AssertionError("input kernel rows do not match the declared streams")
    return tables, pos


def latent_points(model: keras.Model) -> np.ndarray:
    """A map model's points: its latent table, (rows, dim)."""
    table = model.get_layer("latent_embedding").embeddings
    return keras.ops.convert_to_numpy(table).astype(np.float64)


def set_latent_points(model: keras.Model, points: np.ndarray) -> None:
    model.get_layer("latent_embedding").embeddings.assign(np.asarray(points, np.float32))
