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

from audiornn import data as dataset  # noqa: E402
from audiornn import metrics
from audiornn.config import ModelConfig, read_run_config, run_config  # noqa: E402
from audiornn.data import corpus
from audiornn.jobs.effect_data import build_pairs  # noqa: E402
from audiornn.runtime.effect import Effect  # noqa: E402
from audiornn.runtime.model import build_model  # noqa: E402
from audiornn.runtime.sampler import Generator  # noqa: E402
from audiornn.streams import code_stream  # noqa: E402
from audiornn.training.train import train  # noqa: E402

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
    """tanh drive, then a one-pole low-pass "tone" at 3 kHz."""
    return drive_tone(np.tanh(4.0 * x), rate)


def reverb(x, rate):
    rng = np.random.default_rng(0)
    n = int(0.25 * rate)
    t = np.arange(n) / rate
    ir = rng.standard_normal(n) * np.exp(-t / 0.05) * 0.15  # RT60 about 0.35 s
    ir[0] = 1.0
    y = signal.fftconvolve(x, ir)[: len(x)]
    return 0.9 * y / np.max(np.abs(y))


def write_pairs(tmp: Path, name: str, effect) -> list[tuple[Path, Path]]:
    """The synthesized corpus's tracks (dry) and the same through `effect` (wet)."""
    src = tmp / "corpus"
    if not src.exists():
        corpus.write_demo_corpus(src)
    files = sorted(src.glob("*.wav"))
    pd = tmp / name / "pairs"
    pairs = [(pd / f"dry_{f.name}", pd / f"wet_{f.name}") for f in files]
    if not pd.exists():
        pd.mkdir(parents=True)
        for f, (dry, wet) in zip(files, pairs):
            x, r = sf.read(f)
            sf.write(dry, x, r, subtype="FLOAT")
            sf.write(wet, effect(x, r), r, subtype="FLOAT")
    return pairs


def apply_run(run: Path, dry: Path, out: Path, knobs: dict | None = None) -> float:
    """Applies a run to a file; returns the seconds it took."""
    t0 = time.perf_counter()
    if read_run_config(run).model.head == "regression":
        fx = Effect.from_run(run)
        fx.set_knobs(**(knobs or {}))
        fx.process_file(dry, out, fmt="float")
    else:
        Generator.from_run(run).apply(dry, out, progress=False, fmt="float")
    return time.perf_counter() - t0


def esr_run(tmp: Path, name: str, effect, minutes: float, label: str, options: dict) -> dict:
    pairs = write_pairs(tmp, name, effect)
    ds = tmp / name / "ds"
    if not ds.exists():
        # As the data CLI does for pairs: no pre-emphasis.
        build_pairs(pairs[:-1], ds, dataset.DataConfig(sample_rate=RATE, preemphasis=0.0))
    run = tmp / name / f"run-{label}"
    # The effect job's defaults (1 x 32 LSTM, its learning rate), with a time budget.
    train(ds, run, options={"epochs": 1000, "steps_per_epoch": 20, "patience": 1000,
                            "max_minutes": minutes, "val_windows": 64, **options}, verbose=0)
    dry, wet = pairs[-1]
    out = tmp / name / f"out-{label}.wav"
    elapsed = apply_run(run, dry, out)
    y, r = sf.read(out)
    x = sf.read(dry)[0]
    t = sf.read(wet)[0]
    return {"esr": metrics.esr(t, y), "esr_pre": metrics.esr(t, y, 0.95),
            "do_nothing": metrics.esr(t, x), "seconds": len(x) / r, "apply_s": elapsed}


def knob_drive(k: float):
    def fx(x, rate):
        g = 1.0 + 7.0 * k
        return drive_tone(np.tanh(g * x) / np.tanh(g), rate)
    return fx


def drive_tone(y, rate):
    a = np.exp(-2 * np.pi * 3000 / rate)
    return 0.9 * signal.lfilter([1 - a], [1, -a], y)


def knob_run(tmp: Path, minutes: float, settings=(0.0, 0.5, 1.0), held_out: float = 0.25) -> dict:
    """A knob model on 3 settings of a drive, judged at a 4th setting between them."""
    pairs, knobs = [], []
    for k in settings:
        ps = write_pairs(tmp, f"knob{k:g}", knob_drive(k))
        pairs += ps[:-1]
        knobs += [{"gain": [k]}] * (len(ps) - 1)
    ds = tmp / "knob" / "ds"
    if not ds.exists():
        build_pairs(pairs, ds, dataset.DataConfig(sample_rate=RATE, preemphasis=0.0),
                            knobs=knobs)
    run = tmp / "knob" / "run"
    train(ds, run, options={"head": "regression", "core": "flat", "epochs": 1000, "steps_per_epoch": 20,
                            "patience": 1000, "max_minutes": minutes, "val_windows": 64}, verbose=0)
    test = write_pairs(tmp, f"knob{held_out:g}", knob_drive(held_out))[-1]
    nearest = min(settings, key=lambda k: (abs(k - held_out), -k))
    t = sf.read(test[1])[0]
    out = {}
    for label, k in (("held-out", held_out), ("nearest", nearest)):
        path = tmp / "knob" / f"out-{label}.wav"
        apply_run(run, test[0], path, {"gain": k})
        out[label] = metrics.esr(t, sf.read(path)[0])
    recorded = knob_drive(nearest)(sf.read(test[0])[0], RATE)
    out["recorded-nearest"] = metrics.esr(t, recorded)
    out["nearest_k"] = nearest
    return out


def effect_speed(rate: int = 48000, seconds: float = 20.0, core: str = "flat") -> dict:
    """A regression model (random weights): the 1 x 32 LSTM (flat) or the WaveNet feather;
    streaming blocks and offline pieces."""
    from audiornn.streams import signal_stream

    keras.utils.set_random_seed(0)
    mc = ModelConfig(streams=(signal_stream("dry", "input"),), layers=1, units=32,
                     head="regression", core=core,
                     options={"shape": "feather"} if core == "wavenet" else {})
    fx = Effect(build_model(mc), run_config(mc, job="effect"))
    x = (0.5 * np.random.default_rng(0).standard_normal(int(seconds * rate))).astype("float32")
    out = {}
    for block in (256, 4096):
        blocks = [x[i:i + block] for i in range(0, len(x) - block + 1, block)]
        fx.process(blocks[0])  # compile
        t0 = time.perf_counter()
        for b in blocks:
            fx.process(b)
        out[f"streaming, {block}-sample blocks"] = len(blocks) * block / (time.perf_counter() - t0)
    fx.process_parallel(x)  # compile
    t0 = time.perf_counter()
    y = fx.process_parallel(x)
    out["offline pieces (process_parallel)"] = len(x) / (time.perf_counter() - t0)
    fx.reset()
    exact = np.concatenate([fx.process(x[i:i + 4096]) for i in range(0, len(x), 4096)])
    out["max_difference"] = float(np.max(np.abs(y - exact)))
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=10.0, help="audio for the speed test")
    p.add_argument("--minutes", type=float, default=5.0, help="training budget per model")
    p.add_argument("--skip-training", action="store_true")
    p.add_argument("--skip-reverb", action="store_true")
    p.add_argument("--skip-knobs", action="store_true")
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
    for core, name in (("flat", "1 x 32 LSTM"), ("wavenet", "WaveNet feather")):
        speed = effect_speed(core=core)
        print(f"\n{name + ' regression model at 48 kHz':<44}{'samples/s':>12}{'x real time':>13}")
        for k, v in speed.items():
            if k != "max_difference":
                print(f"{k:<44}{v:>12,.0f}{v / 48000:>13.1f}")
        print(f"offline pieces vs streaming: max difference {speed['max_difference']:.1e}")
    if args.skip_training:
        return
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(args.work or t)
        tmp.mkdir(parents=True, exist_ok=True)
        print(f"\nESR on a held-out track after {args.minutes:g} CPU-minutes of training each "
              "(1 x 32 LSTM)")
        print(f"{'test':<10}{'model':<34}{'ESR':>9}{'ESR pre-emph.':>15}{'do nothing':>12}")
        runs = [("drive", drive, "classes, input-only, argmax", {"feedback": False}),
                ("drive", drive, "regression", {"head": "regression", "core": "flat"})]
        if not args.skip_reverb:
            runs.append(("reverb", reverb, "regression, --stateful 4",
                         {"head": "regression", "stateful": 4, "core": "flat"}))
        for name, effect, label, options in runs:
            r = esr_run(tmp, name, effect, args.minutes, label.split(",")[0] + str(len(options)),
                        options)
            print(f"{name:<10}{label:<34}{r['esr']:>9.2%}{r['esr_pre']:>15.2%}"
                  f"{r['do_nothing']:>12.2%}", flush=True)
        if not args.skip_knobs:
            k = knob_run(tmp, args.minutes)
            print(f"\nknob model, 3 settings of a drive (gain 0, 0.5, 1), {args.minutes:g} "
                  "CPU-minutes; ESR at the held-out setting 0.25:")
            print(f"  the knob model at 0.25:                 {k['held-out']:.2%}")
            print(f"  the knob model at the nearest ({k['nearest_k']:g}):     {k['nearest']:.2%}")
            print(f"  the gear itself at the nearest setting: {k['recorded-nearest']:.2%}")


if __name__ == "__main__":
    main()
