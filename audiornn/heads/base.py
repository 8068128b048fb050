"""What a head is: the declarations and hooks that builders, training, loops and export call."""

from __future__ import annotations


class Head:
    """The model's output, from the core's features.

    Attributes:
      name: the registry key, saved in run configs.
      layer: the name of its output layer (the step math reads its weights).
      float_output: one float sample per step (True: the run streams as an
        `Effect`; the windows' targets are samples) or a distribution over the
        256 codes per step (False: the run samples or applies through the
        `Generator`; the targets are codes).
      exports: `export` can write it for plugins.
    """

    name = ""
    layer = ""
    float_output = False
    exports = False

    def validate(self, config) -> None:
        """An error when the model config does not suit this head."""

    def check_dataset(self, dataset, path) -> None:
        """An error when a dataset cannot train this head."""

    def build(self, x, inputs: dict, config):
        """The model's output from the core's features `x` (inputs: stream name -> Keras input)."""
        raise NotImplementedError

    def compile(self, model, learning_rate: float, burn_in: int, ema: float = 0.0,
                **loss) -> None:
        """Compiles the model with this head's loss and metrics."""
        raise NotImplementedError


def adam(learning_rate: float, ema: float = 0.0):
    """Adam with the gradient norm clipped at 1; with `ema` > 0 it also keeps an exponential
    moving average of the weights (that momentum per step, warmed up over the first steps:
    heads/optimizer.py), which `train --ema` swaps in for validation and for the saved
    weights (keras.callbacks.SwapEMAWeights)."""
    from audiornn.heads.optimizer import WarmAdam

    return WarmAdam(learning_rate, clipnorm=1.0, use_ema=ema > 0,
                    ema_momentum=ema if ema > 0 else 0.99)
