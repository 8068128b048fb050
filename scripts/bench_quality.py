"""Quality per CPU-minute (not a test): flat against tiered, same data, same wall-clock budget.

  python scripts/bench_quality.py [--minutes 10] [--seconds 8] [--work DIR] [--cores ...]

In one run, on the bundled corpus (`data --demo`): trains the flat core
(2 x 256 LSTM) and the tiered core (the generate job's default) for the same
wall-clock budget each, scores both with eval's scorer on the same held-out
audio, generates `--seconds` from each (seed 0), and prints side by side:
held-out bits per sample, the generated-audio figures of `eval`, training
predictions per second and generation samples per second. Spectrograms land
in WORK/<core>/run/plots/. `--cores` also takes the variants of the tiered
default that were measured to choose it (frame size, frame-tier width,
stateful training).
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from audiornn.evaluation import evaluate as evaluation  # noqa: E402
from audiornn.jobs import build_dataset  # noqa: E402
from audiornn.runtime.model import load_run  # noqa: E402
from audiornn.runtime.sampler import Generator  # noqa: E402
from audiornn.training.train import train  # noqa: E402

CORES = {
    "flat": {"core": "flat", "layers": 2, "units": 256},
    "tiered": {},  # the generate job's defaults
    # The choices measured for the tiered default (--cores tiered-f8 ...):
    "tiered-f8": {"frame": 8},
    "tiered-f32": {"frame": 32},
    "tiered-512": {"units": 512},
    "tiered-stateful": {"stateful": 8},
    # The linear-prediction stream (--lpc ORDER) against none, and a wider frame tier
    # trained with --stateful (issue 25's item 6):
    "tiered-lpc0": {"lpc": 0},
    "tiered-lpc16": {"lpc": 16},
    "tiered-lpc32": {"lpc": 32},
    "tiered-512-stateful": {"units": 512, "stateful": 8},
    # The step size: 0.003 against the earlier default 0.001 (measured on real speech too,
    # scripts/bench_speech.py --variants default lr1 ...).
    "tiered-lr1": {"learning_rate": 1e-3},
    "tiered-lr3": {"learning_rate": 3e-3},
    # The pitch stream (--pitch LAG): the sample one period back, periods up to 320 samples.
    "tiered-pitch320": {"pitch": 320},
}


def generation_rate(run: Path, seconds: float) -> float:
    gen = Generator.from_run(run)
    n = int(seconds * gen.sample_rate)
    for _ in gen.sample(min(n, gen.chunk) + 1, seed=0):  # compile both chunk shapes
        pass
    t0 = time.perf_counter()
    for _ in gen.sample(n, seed=1):
        pass
    return n / (time.perf_counter() - t0)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=10.0, help="training budget per core")
    p.add_argument("--seconds", type=float, default=8.0, help="audio generated per core")
    p.add_argument("--steps-per-epoch", type=int, default=30)
    p.add_argument("--cores", nargs="+", default=list(CORES), choices=list(CORES))
    p.add_argument("--work", help="working folder (default: a new temporary one)")
    args = p.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="audiornn-quality-"))
    data = work / "data"
    if not data.exists():
        build_dataset({"demo": True}, str(data), sample_rate=16000, preemphasis=None,
                      val_fraction=0.1, seed=0, strict=False, overwrite=False)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; budget {args.minutes:g} min "
          f"per core; work folder {work}")
    rows = {}
    for name in args.cores:
        run = work / name / "run"
        if not (run / "model.keras").exists():
            t0 = time.perf_counter()
            train(data, run, options={**CORES[name], "epochs": 10_000, "patience": 10_000,
                                      "steps_per_epoch": args.steps_per_epoch,
                                      "max_minutes": args.minutes}, verbose=0)
            (work / name / "train_seconds").write_text(str(time.perf_counter() - t0))
        seconds = float((work / name / "train_seconds").read_text())
        with open(run / "history.csv") as f:
            epochs = len(list(csv.DictReader(f)))
        model, cfg = load_run(run)
        scored = epochs * args.steps_per_epoch * cfg.train.batch_size * (
            cfg.train.window - cfg.train.burn_in)
        result = evaluation.evaluate(run, generate_seconds=args.seconds, quiet=True)
        held = result["heldout"][0]
        gen = result["generated"]["clips"]["generated"]
        rows[name] = {
            "parameters": model.count_params(),
            "epochs": epochs,
            "train predictions/s": scored / seconds,
            "held-out bits": held["model"]["bits"],
            "LPC bits": held["lpc"]["bits"],
            "spectral distance dB": gen["spectral_distance_db"],
            "silent frames": gen["silent_fraction"],
            "stuck in silence": gen["stuck_silence_fraction"],
            "level ok": gen["level_match"],
            "voiced": gen["voiced_fraction"],
            "flatness": gen["flatness"],
            "generation samples/s (1 stream)": generation_rate(run, 4.0),
        }
        real = result["generated"]["real"]
        real_row = {"silent frames": real["silent_fraction"],
                                   "stuck in silence": real["stuck_silence_fraction"],
                                   "level ok": real["level_match"],
                                   "voiced": real["voiced_fraction"],
                                   "flatness": real["flatness"]}
        print(f"{name}: done ({epochs} epochs); plots in {run / 'plots'}", flush=True)
    rows["real (held-out)"] = real_row
    keys = list(next(iter(rows.values())))
    names = list(rows)
    print(f"\n{'':<34}" + "".join(f"{n:>18}" for n in names))
    for k in keys:
        cells = []
        for n in names:
            v = rows[n].get(k)
            if v is None:
                cells.append(f"{'':>18}")
            elif k in ("silent frames", "stuck in silence", "level ok", "voiced"):
                cells.append(f"{v:>18.0%}")
            elif isinstance(v, int) or abs(v) >= 1000:
                cells.append(f"{v:>18,.0f}")
            else:
                cells.append(f"{v:>18.3f}")
        print(f"{k:<34}" + "".join(cells))


if __name__ == "__main__":
    main()
