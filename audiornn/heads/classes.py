"""The 256-class head: logits over the next mu-law code, trained on cross-entropy in bits."""

from __future__ import annotations

import keras

from audiornn import dsp
from audiornn.errors import AudioRNNError
from audiornn.heads.base import Head, adam
from audiornn.metrics import LN2


@keras.saving.register_keras_serializable(package="audiornn")
class BitsPerSample(keras.metrics.Mean):
    """Cross-entropy in bits per sample (loss / ln 2), weighted like the loss."""

    def __init__(self, name="bits", **kwargs):
        super().__init__(name=name, **kwargs)

    def update_state(self, y_true, y_pred, sample_weight=None):
        ce = keras.losses.sparse_categorical_crossentropy(y_true, y_pred, from_logits=True)
        return super().update_state(ce / LN2, sample_weight=sample_weight)


class Classes(Head):
    name, layer = "classes", "logits"

    def validate(self, config) -> None:
        if any(s.behaviour.float_input for s in config.streams) or config.skip:
            raise AudioRNNError("float inputs and --skip go with --head regression")

    def build(self, x, inputs, config):
        return keras.layers.Dense(dsp.N_CLASSES, name=self.layer, dtype="float32")(x)

    def compile(self, model, learning_rate, burn_in, ema=0.0, **loss):
        """Adam with gradient clipping; sparse CE on logits, averaged over scored positions."""
        model.compile(
            optimizer=adam(learning_rate, ema),
            loss=keras.losses.SparseCategoricalCrossentropy(
                from_logits=True, reduction="mean_with_sample_weight"),
            weighted_metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy"),
                              BitsPerSample()])


HEAD = Classes()
