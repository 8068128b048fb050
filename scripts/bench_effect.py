"""Effect benchmark (not a test): application speed and ESR after a fixed training budget.

  python scripts/bench_effect.py [--minutes 5] [--skip-training]

1. Application speed at 16 kHz, side by side, for the two default sizes
   (2 x 256 LSTM for generation, 1 x 32 for effects; random weights: speed
   does not depend on them): an
   input-only model (--no-feedback: one parallel pass per chunk) and a model
   with feedback (the compiled step loop), against real time.
2. ESR after --minutes of CPU training each, on the synthesized default
   corpus (5 tracks for training and validation, a 6th held out for the ESR)
   through (a) a tanh drive followed by a one-pole tone filter and (b) a short
   synthetic reverb; input-only and feedback models side by side, with the
   do-nothing baseline (output = input) on the same audio.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402
from scipy import signal  # noqa: E402

from audiornn import corpus, dataset, metrics  # noqa: E402
from audiornn.config import ModelConfig, code_stream, run_config  # noqa: E402
from audiornn.loop import Generator  # noqa: E402
from audiornn.model import build_model  # noqa: E402
from audiornn.train import train  # noqa: E402

RATE = 16000
SIZES = ((2, 256), (1, 32))


def apply_rate(feedback: bool, seconds: float, layers: int = 2, units: int = 256) -> float:
    keras.utils.set_random_seed(0)
    streams = ((code_stream("prev", "target", 64),) if feedback else ()) + (
        code_stream("dry", "input", 64),)
    mc = ModelConfig(streams=streams, layers=layers, units=units)
    gen = Generator(build_model(mc), run_config(mc, job="effect"), chunk=16000)
    codes = np.random.default_rng(0).integers(0, 256, int(seconds * RATE)).astype("int32")
    chunks = [codes[i:i + gen.chunk] for i in range(0, len(codes), gen.chunk)]
    list(gen.apply_codes(chunks[:2]))  # compile (full and last chunk lengths)
    list(gen.apply_codes([chunks[-1]]))
    t0 = time.perf_counter()
    for _ in gen.apply_codes(chunks):
        pass
    return len(codes) / (time.perf_counter() - t0)


def drive(x, rate):
    y = np.tanh(4.0 * x)
    a = np.exp(-2 * np.pi * 3000 / rate)  # one-pole low-pass "tone" at 3 kHz
    return 0.9 * signal.lfilter([1 - a], [1, -a], y)


def reverb(x, rate):
    rng = np.random.default_rng(0)
    n = int(0.25 * rate)
    t = np.arange(n) / rate
    ir = rng.standard_normal(n) * np.exp(-t / 0.05) * 0.15  # RT60 about 0.35 s
    ir[0] = 1.0
    y = signal.fftconvolve(x, ir)[: len(x)]
    return 0.9 * y / np.max(np.abs(y))


def esr_run(tmp: Path, name: str, effect, minutes: float, feedback: bool) -> dict:
    src = tmp / "corpus"
    if not src.exists():
        corpus.write_demo_corpus(src)
    files = sorted(src.glob("*.wav"))
    pd = tmp / name / "pairs"
    pairs = [(pd / f"dry_{f.name}", pd / f"wet_{f.name}") for f in files]
    if not pd.exists():  # the feedback and input-only runs share the pairs and dataset
        pd.mkdir(parents=True)
        for f, (dry, wet) in zip(files, pairs):
            x, r = sf.read(f)
            sf.write(dry, x, r, subtype="FLOAT")
            sf.write(wet, effect(x, r), r, subtype="FLOAT")
    ds = tmp / name / "ds"
    if not ds.exists():
        # As the data CLI does for pairs: no pre-emphasis.
        dataset.build_pairs(pairs[:-1], ds, dataset.DataConfig(sample_rate=RATE, preemphasis=0.0))
    run = tmp / name / f"run-{'fb' if feedback else 'nofb'}"
    # The effect job's defaults (1 x 32, its learning rate), with a time budget.
    train(ds, run, options={"feedback": feedback, "epochs": 1000, "steps_per_epoch": 20,
                            "patience": 1000, "max_minutes": minutes, "val_windows": 64},
          verbose=0)
    gen = Generator.from_run(run)
    dry, wet = pairs[-1]
    out = tmp / name / f"out-{'fb' if feedback else 'nofb'}.wav"
    t0 = time.perf_counter()
    gen.apply(dry, out, progress=False, fmt="float")
    elapsed = time.perf_counter() - t0
    y, r = sf.read(out)
    x = sf.read(dry)[0]
    t = sf.read(wet)[0]
    return {"esr": metrics.esr(t, y), "esr_pre": metrics.esr(t, y, 0.95),
            "do_nothing": metrics.esr(t, x), "seconds": len(x) / r, "apply_s": elapsed}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=10.0, help="audio for the speed test")
    p.add_argument("--minutes", type=float, default=5.0, help="training budget per model")
    p.add_argument("--skip-training", action="store_true")
    p.add_argument("--work", help="keep the work files here (default: a temporary folder)")
    args = p.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} logical CPUs, "
          f"keras {keras.__version__}, backend {keras.backend.backend()}")
    print(f"{'application at 16 kHz':<44}{'samples/s':>12}{'x real time':>13}")
    for layers, units in SIZES:
        nofb = apply_rate(False, args.seconds, layers, units)
        fb = apply_rate(True, min(args.seconds, 5.0), layers, units)
        size = f"{layers} x {units} LSTM"
        print(f"{size + ', input-only (parallel pass)':<44}{nofb:>12,.0f}{nofb / RATE:>13.1f}")
        print(f"{size + ', feedback (step loop)':<44}{fb:>12,.0f}{fb / RATE:>13.2f}")
    if args.skip_training:
        return
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(args.work or t)
        tmp.mkdir(parents=True, exist_ok=True)
        print(f"\nESR on a held-out track after {args.minutes:g} CPU-minutes of training "
              "(the effect default, 1 x 32 LSTM, argmax decoding)")
        print(f"{'test':<12}{'model':<14}{'ESR':>9}{'ESR pre-emph.':>15}{'do nothing':>12}")
        for name, effect in (("drive", drive), ("reverb", reverb)):
            for feedback in (False, True):
                r = esr_run(tmp, name, effect, args.minutes, feedback)
                label = "feedback" if feedback else "input-only"
                print(f"{name:<12}{label:<14}{r['esr']:>9.2%}{r['esr_pre']:>15.2%}"
                      f"{r['do_nothing']:>12.2%}", flush=True)


if __name__ == "__main__":
    main()
