"""Training throughput benchmark (not a test): scored predictions per second.

  python scripts/bench_train.py [--steps 4]

Side by side in one run, on the same model size (2 x 256 LSTM):
  * this project's many-to-many teacher forcing: a batch of 32 windows of T = 1024
    scores 32 x (1024 - 64) predictions per step;
  * the original AudioRNN formulation: a many-to-one model reads a 1000-sample
    window and scores one prediction (the next sample) per window, batch 32.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from audiornn.config import ModelConfig  # noqa: E402
from audiornn.runtime.model import build_model  # noqa: E402
from audiornn.training.train import compile_model  # noqa: E402


def original_model(units=256, layers=2, embedding=64):
    """Many-to-one: the last step's output predicts the next sample."""
    inp = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(256, embedding)(inp)
    for i in range(layers):
        x = keras.layers.LSTM(units, return_sequences=i < layers - 1)(x)
    out = keras.layers.Dense(256)(x)
    m = keras.Model(inp, out)
    m.compile(optimizer="adam",
              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return m


def timed(fn, steps):
    fn()  # compile
    t0 = time.perf_counter()
    for _ in range(steps):
        fn()
    return (time.perf_counter() - t0) / steps


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--window", type=int, default=1024)
    p.add_argument("--burn-in", type=int, default=64)
    p.add_argument("--batch", type=int, default=32)
    args = p.parse_args()
    gpu = tf.config.list_physical_devices("GPU")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, "
          f"{'GPU: ' + gpu[0].name if gpu else 'CPU only'}, TensorFlow {tf.__version__}")
    rng = np.random.default_rng(0)
    B, T, burn = args.batch, args.window, args.burn_in

    model = build_model(ModelConfig())
    compile_model(model, 1e-3)
    x = rng.integers(0, 256, (B, T)).astype("int32")
    y = rng.integers(0, 256, (B, T)).astype("int32")
    w = np.ones((B, T), "float32")
    w[:, :burn] = 0
    dt = timed(lambda: model.train_on_batch({"prev": x}, y, w), args.steps)
    ours = B * (T - burn) / dt
    print(f"many-to-many (T={T}, burn-in {burn}, batch {B}): {dt:.3f} s/step, "
          f"{ours:,.0f} scored predictions/s  [{model.count_params():,} parameters]")

    orig = original_model()
    xo = rng.integers(0, 256, (B, 1000)).astype("int32")
    yo = rng.integers(0, 256, (B,)).astype("int32")
    dto = timed(lambda: orig.train_on_batch(xo, yo), args.steps)
    base = B / dto
    print(f"original many-to-one (1000-sample window, batch {B}): {dto:.3f} s/step, "
          f"{base:,.1f} scored predictions/s  [{orig.count_params():,} parameters]")
    print(f"ratio: {ours / base:,.0f}x more scored predictions per second")


if __name__ == "__main__":
    main()
