"""Backend benchmark (not a test): training and generation speed on TensorFlow and JAX.

  python scripts/bench_backends.py [--backends tensorflow jax] [--streams 1 64 1024 4096]
                                   [--seconds 0.25] [--train-steps 6] [--quality-minutes 0]

Side by side in one run, each backend in its own process (KERAS_BACKEND), for
the default model of each core (flat: 2 x 256 LSTM; tiered: the generate
job's default), random weights (speed does not depend on them):

* training throughput: scored predictions per second of `train_on_batch` on
  batches of 32 windows of 1024 codes (after one warm-up step);
* generation: the compiled step loop sampling B streams at once, in samples
  per second in total (after a warm-up call of the same shape);
* with --quality-minutes M: held-out bits of the bundled corpus after M
  minutes of training with the defaults (data/demo is built if missing).

On a GPU machine, run it with `--backends jax` (the GPU machines have no
TensorFlow); the README's GPU table comes from this script.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import textwrap

CHILD = r"""
import json, os, sys, time
import numpy as np
import keras
from audiornn.distribute import backend
from audiornn.config import ModelConfig, run_config
from audiornn.jobs.generate import TIERED
from audiornn.runtime.sampler import Generator
from audiornn.runtime.model import build_model
from audiornn.training.train import compile_model

args = json.loads(sys.argv[1])
out = {"backend": backend.NAME, "devices": [str(d) for d in backend.devices()],
       "gpus": len(backend.gpus()), "cores": {}}
rng = np.random.default_rng(0)
for core in args["cores"]:
    mc = ModelConfig.make(**(TIERED if core == "tiered" else {}))
    keras.utils.set_random_seed(0)
    model = build_model(mc)
    compile_model(model, 1e-3)
    b, t = 32, 1024
    x = {"prev": rng.integers(0, 256, (b, t)).astype("int32")}
    y = rng.integers(0, 256, (b, t)).astype("int32")
    model.train_on_batch(x, y)
    t0 = time.perf_counter()
    for _ in range(args["train_steps"]):
        model.train_on_batch(x, y)
    train_rate = b * t * args["train_steps"] / (time.perf_counter() - t0)
    gen = Generator(model, run_config(mc), chunk=100000)
    rates = {}
    for streams in args["streams"]:
        n = max(16, int(args["seconds"] * 16000 * min(1.0, 64 / streams)) // 16 * 16)
        list(gen.sample(n, batch=streams, seed=1))  # compile for this shape
        t0 = time.perf_counter()
        list(gen.sample(n, batch=streams, seed=2))
        rates[streams] = streams * n / (time.perf_counter() - t0)
    out["cores"][core] = {"train_predictions_per_s": train_rate, "generate_samples_per_s": rates,
                          "parameters": int(model.count_params())}
    print(core, json.dumps(out["cores"][core]), file=sys.stderr, flush=True)
if args["quality_minutes"]:
    import subprocess
    from audiornn.evaluation import evaluate as evaluation
    run = f"runs/bench-backends-{backend.NAME}"
    if not os.path.exists("data/demo/dataset.json"):
        subprocess.run([sys.executable, "-m", "audiornn", "data", "--demo", "--out", "data/demo"],
                       check=True)
    subprocess.run([sys.executable, "-m", "audiornn", "train", "data/demo", "--run", run,
                    "--epochs", "1000", "--patience", "1000", "--max-minutes",
                    str(args["quality_minutes"]), "-q"], check=True)
    r = evaluation.evaluate(run, quiet=True)
    out["heldout_bits"] = r["heldout"][0]["model"]["bits"]
print("RESULT " + json.dumps(out))
"""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backends", nargs="+", default=["tensorflow", "jax"])
    p.add_argument("--cores", nargs="+", default=["flat", "tiered"])
    p.add_argument("--streams", type=int, nargs="+", default=[1, 64, 1024, 4096])
    p.add_argument("--seconds", type=float, default=0.25,
                   help="audio per stream to time (scaled down above 64 streams)")
    p.add_argument("--train-steps", type=int, default=6)
    p.add_argument("--quality-minutes", type=float, default=0.0)
    p.add_argument("--out", default="bench_backends.json")
    a = p.parse_args()
    child = {"cores": a.cores, "streams": a.streams, "seconds": a.seconds,
             "train_steps": a.train_steps, "quality_minutes": a.quality_minutes}
    results = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"}
    for b in a.backends:
        env = dict(os.environ, KERAS_BACKEND=b, TF_CPP_MIN_LOG_LEVEL="3")
        r = subprocess.run([sys.executable, "-c", textwrap.dedent(CHILD), json.dumps(child)],
                           env=env, capture_output=True, text=True)
        line = next((s for s in r.stdout.splitlines() if s.startswith("RESULT ")), None)
        if r.returncode or line is None:
            print(f"{b}: failed\n{r.stderr[-3000:]}", file=sys.stderr)
            continue
        results[b] = json.loads(line[len("RESULT "):])
    with open(a.out, "w") as f:
        json.dump(results, f, indent=1)
    print(f"machine: {results['machine']}")
    for core in a.cores:
        print(f"\n{core} core")
        print(f"  {'backend':<12}{'train pred/s':>14}"
              + "".join(f"{f'{s} streams':>16}" for s in a.streams))
        for b in a.backends:
            if b not in results:
                continue
            c = results[b]["cores"][core]
            print(f"  {b:<12}{c['train_predictions_per_s']:>14,.0f}"
                  + "".join(f"{c['generate_samples_per_s'][str(s)]:>16,.0f}" for s in a.streams))
    for b in a.backends:
        if b in results and "heldout_bits" in results[b]:
            print(f"{b}: held-out bits after {a.quality_minutes:g} min: {results[b]['heldout_bits']:.3f}")


if __name__ == "__main__":
    main()
