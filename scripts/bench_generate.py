"""Generation speed benchmark (not a test): samples per second.

  python scripts/bench_generate.py [--streams 1 64] [--seconds 2]

Side by side in one run, for the flat 2 x 256 LSTM and (--cores flat tiered)
the tiered default (random weights: speed does not depend on the weights):
  * the compiled step loop (state carried, sampling on the device) with 1 stream
    and with 64 streams;
  * priming with --prime-seconds of codes (one compiled parallel pass per chunk)
    against scoring the same codes with eval's scorer;
  * the original AudioRNN method: `model.predict` on a whole 1000-sample window
    for every generated sample, over a few dozen samples.
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

from audiornn.config import ModelConfig, run_config  # noqa: E402
from audiornn.jobs.generate import TIERED  # noqa: E402
from audiornn.runtime.model import build_model  # noqa: E402
from audiornn.runtime.sampler import Generator  # noqa: E402


def original_model(units=256, layers=2, embedding=64):
    inp = keras.Input((1000,), dtype="int32")
    x = keras.layers.Embedding(256, embedding)(inp)
    for i in range(layers):
        x = keras.layers.LSTM(units, return_sequences=i < layers - 1)(x)
    return keras.Model(inp, keras.layers.Dense(256)(x))


def original_rate(n_samples: int) -> float:
    m = original_model()
    window = np.full((1, 1000), 128, "int32")
    m.predict(window, verbose=0)
    t0 = time.perf_counter()
    for _ in range(n_samples):
        p = m.predict(window, verbose=0)[0]
        window = np.concatenate([window[:, 1:], [[int(np.argmax(p))]]], axis=1)
    return n_samples / (time.perf_counter() - t0)


def loop_rate(gen: Generator, streams: int, seconds: float) -> float:
    n = int(seconds * 16000)
    for _ in gen.sample(min(n, gen.chunk) + 1, batch=streams, seed=0):  # compile both shapes
        pass
    t0 = time.perf_counter()
    for _ in gen.sample(n, batch=streams, seed=1):
        pass
    return n * streams / (time.perf_counter() - t0)


def prime_vs_score(gen: Generator, seconds: float, repeats: int = 3) -> tuple[float, float]:
    """Seconds to prime with `seconds` of codes, and to score the same codes (Scorer):
    the medians of `repeats` alternating rounds, so that both see the same machine load."""
    from audiornn.runtime.scoring import Scorer

    codes = np.random.default_rng(0).integers(0, 256, int(seconds * 16000)).astype("int32")
    bias = gen.core.sequence_bias(None, 1)
    scorer = Scorer(gen.model, gen.config, chunk=gen.chunk, batch=1)
    gen.prime(codes[:gen.chunk + 17], 1, bias)  # compile both chunk shapes
    scorer.score([{"target": codes[:gen.chunk + 17]}])
    primes, scores = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        state, _ = gen.prime(codes, 1, bias)
        np.asarray(state[0])
        primes.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        scorer.score([{"target": codes}])
        scores.append(time.perf_counter() - t0)
    return float(np.median(primes)), float(np.median(scores))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--streams", type=int, nargs="+", default=[1, 64])
    p.add_argument("--seconds", type=float, default=2.0, help="audio per stream to time")
    p.add_argument("--original-samples", type=int, default=30)
    p.add_argument("--chunk", type=int, default=4000)
    p.add_argument("--prime-seconds", type=float, default=20.0,
                   help="priming against scoring: seconds of codes (0: skip)")
    p.add_argument("--prime-repeats", type=int, default=3,
                   help="rounds of priming and scoring, alternating; the medians are reported")
    p.add_argument("--cores", nargs="+", default=["flat"], choices=["flat", "tiered"],
                   help="flat: 2 x 256 LSTM; tiered: the generate job's default")
    args = p.parse_args()
    gpu = tf.config.list_physical_devices("GPU")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, "
          f"{'GPU: ' + gpu[0].name if gpu else 'CPU only'}, TensorFlow {tf.__version__}")
    rates = {}
    for core in args.cores:
        mc = ModelConfig()
        if core == "tiered":
            mc = ModelConfig.make(**TIERED)
        model = build_model(mc)
        gen = Generator(model, run_config(mc), chunk=args.chunk)
        if args.prime_seconds:
            prime, score = prime_vs_score(gen, args.prime_seconds, args.prime_repeats)
            print(f"{core}: priming {args.prime_seconds:g} s: {prime:.2f} s; scoring the same "
                  f"codes: {score:.2f} s (priming / scoring = {prime / score:.2f})")
        for s in args.streams:
            rates[core, s] = loop_rate(gen, s, args.seconds)
            print(f"compiled loop, {core}, {s} stream(s): {rates[core, s]:,.0f} samples/s in total "
                  f"({rates[core, s] / 16000:.2f}x real time at 16 kHz)")
    base = original_rate(args.original_samples)
    print(f"original method (predict on a 1000-sample window per sample): {base:.1f} samples/s")
    for (core, s), r in rates.items():
        print(f"ratio, {core}, {s} stream(s) vs original: {r / base:,.0f}x")


if __name__ == "__main__":
    main()
