"""Adam whose weight average warms up: short runs are not averaged with their first steps."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="audiornn")
class WarmAdam(keras.optimizers.Adam):
    """Adam with `use_ema`, where the average's momentum after n steps is
    min(ema_momentum, (1 + n) / (10 + n)) (as TensorFlow's ExponentialMovingAverage with
    num_updates). Keras' own average uses the full momentum from the second step, so at
    0.99 a run of 100 steps still holds a third of its random starting weights."""

    def _update_model_variables_moving_average(self, trainable_variables):
        if not self.use_ema:
            return
        n = ops.cast(self.iterations, "float32")
        warm = ops.minimum(self.ema_momentum, (1.0 + n) / (10.0 + n))
        for var, average in zip(trainable_variables, self._model_variables_moving_average):
            if average is not None:
                m = ops.cast(warm, var.dtype)
                average.assign(m * average + (1 - m) * var)
