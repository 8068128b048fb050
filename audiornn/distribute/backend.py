"""The one place that knows which Keras backend runs (KERAS_BACKEND: tensorflow or jax).

The step loops are written once against `keras.ops`; `jit` compiles them with
XLA on either backend. TensorFlow is imported only for what only it has (the
`tf.distribute` strategies, the TensorBoard writer), behind `NAME`.
"""

from __future__ import annotations

import keras

NAME = keras.backend.backend()


def jit(fn):
    """fn compiled with XLA: `tf.function(jit_compile=True)` or `jax.jit`."""
    if NAME == "tensorflow":
        import tensorflow as tf

        return tf.function(fn, jit_compile=True, reduce_retracing=True)
    if NAME == "jax":
        import jax

        return jax.jit(fn)
    return fn


def gpus() -> list:
    """The GPUs this backend sees (empty on a CPU-only machine)."""
    if NAME == "tensorflow":
        import tensorflow as tf

        return tf.config.list_physical_devices("GPU")
    if NAME == "jax":
        import jax

        try:
            return jax.devices("gpu")
        except RuntimeError:
            return []
    return []


def devices() -> list[str]:
    """Every device this backend can place work on (Keras' names, e.g. "cpu:0")."""
    return keras.distribution.list_devices()
