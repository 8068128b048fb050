"""Scoring speed benchmark (not a test): held-out samples scored per second.

  python scripts/bench_eval.py [--seconds 10]

Side by side in one run, for the default model (2 x 256 LSTM, random weights:
speed does not depend on the weights), on --seconds of 16 kHz codes:
  * `eval`'s scorer with the state carried across one whole file (exact);
  * the same audio as 16 files scored side by side (a held-out split of many
    files, or `eval --split`);
  * the baseline: Keras `model.predict` on independent 1024-sample windows
    with 64 unscored burn-in samples each, as training's validation does.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from audiornn.config import ModelConfig, run_config  # noqa: E402
from audiornn.runtime.model import build_model  # noqa: E402
from audiornn.runtime.scoring import Scorer  # noqa: E402

RATE = 16000


def scorer_rate(scorer: Scorer, codes: np.ndarray, files: int) -> float:
    n = len(codes) // files
    seqs = [{"target": codes[k * n:(k + 1) * n]} for k in range(files)]
    scorer.score([{"target": s["target"][: scorer.chunk + 7]} for s in seqs])  # compile both lengths
    t0 = time.perf_counter()
    scorer.score(seqs)
    return n * files / (time.perf_counter() - t0)


def windows_rate(model, codes: np.ndarray, window=1024, burn_in=64) -> float:
    step = window - burn_in
    starts = range(0, len(codes) - window - 1, step)
    x = np.stack([codes[s:s + window] for s in starts]).astype("int32")
    model.predict(x[:32], batch_size=32, verbose=0)
    t0 = time.perf_counter()
    model.predict(x, batch_size=32, verbose=0)
    return len(starts) * step / (time.perf_counter() - t0)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=10.0)
    args = p.parse_args()
    mc = ModelConfig()
    keras.utils.set_random_seed(0)
    model = build_model(mc)
    codes = np.random.default_rng(0).integers(0, 256, int(args.seconds * RATE)).astype("int32")
    scorer = Scorer(model, run_config(mc))
    rows = [("scorer, 1 file, state carried", scorer_rate(scorer, codes, 1)),
            ("scorer, 16 files side by side", scorer_rate(scorer, codes, 16)),
            ("baseline: predict on 1024-windows", windows_rate(model, codes))]
    print(f"machine: {platform.machine()}, {os.cpu_count()} logical CPUs, "
          f"keras {keras.__version__}, backend {keras.backend.backend()}")
    print(f"{'method':<36}{'samples/s':>12}{'x real time':>13}{'vs baseline':>13}")
    base = rows[-1][1]
    for name, r in rows:
        print(f"{name:<36}{r:>12,.0f}{r / RATE:>13.1f}{r / base:>12.2f}x")


if __name__ == "__main__":
    main()
