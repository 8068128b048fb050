"""Multi-worker benchmark (not a test): one process against two workers on loopback.

  python scripts/bench_multiworker.py [--work /tmp/bench_mw] [--epochs 2] [--steps 10]
                                      [--backends tensorflow jax]

Side by side in one run, on the bundled demo data (`data --demo`, built into
--work if missing), with the generate job's default model and the same seed,
global batch and windows:

* baseline: `train` in one process;
* `--strategy multiworker`: the same command as worker 0 and worker 1 of a
  TF_CONFIG cluster on 127.0.0.1, started together.

It reports each command's wall time (start-up, connection and saving
included) and the two runs' losses, which should agree. On one machine the two workers share its
cores, so this measures the cost of the collective all-reduce and of the
second process, not the speed-up two hosts would give.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from audiornn.distribute.multiworker import loopback_configs


def train_cmd(ds, run, args):
    return [sys.executable, "-m", "audiornn", "train", str(ds), "--run", str(run),
            "--epochs", str(args.epochs), "--steps-per-epoch", str(args.steps),
            "--patience", str(args.epochs), "--seed", "0", "-q"]


def history(run):
    with open(Path(run) / "history.csv") as f:
        return [float(r["loss"]) for r in csv.DictReader(f)]


def timed(procs):
    t0 = time.perf_counter()
    codes = [p.wait() for p in procs]
    if any(codes):
        raise SystemExit(f"a training process failed: {codes}")
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", default="/tmp/bench_mw")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--backends", nargs="+", default=["tensorflow"])
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    ds = work / "demo"
    if not ds.exists():
        subprocess.run([sys.executable, "-m", "audiornn", "data", "--demo", "--out", str(ds)], check=True)
    results = {"machine": f"{platform.machine()}, {os.cpu_count()} cores", "epochs": args.epochs,
               "steps": args.steps, "backends": {}}
    for backend in args.backends:
        env = {**os.environ, "KERAS_BACKEND": backend, "JAX_PLATFORMS": "cpu"}
        one, two = work / f"one_{backend}", work / f"two_{backend}"
        for d in (one, two):
            subprocess.run(["rm", "-rf", str(d)], check=True)
        t_one = timed([subprocess.Popen(train_cmd(ds, one, args), env=env)])
        procs = []
        for cfg in loopback_configs(2):
            procs.append(subprocess.Popen(train_cmd(ds, two, args) + ["--strategy", "multiworker"],
                                          env={**env, "TF_CONFIG": cfg}))
        t_two = timed(procs)
        l1, l2 = history(one), history(two)
        results["backends"][backend] = {
            "one_process_s": round(t_one, 1), "two_workers_s": round(t_two, 1),
            "ratio": round(t_two / t_one, 2), "loss_one": l1, "loss_two": l2,
            "max_loss_gap": max(abs(a - b) / a for a, b in zip(l1, l2))}
        print(json.dumps(results["backends"][backend]), flush=True)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
