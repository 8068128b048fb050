"""Effects on real gear (not a test): LADSPA plugins from Debian, run by sox, captured like an amp.

  python scripts/bench_gear.py [--minutes 5] [--rigs tube sigmoid reverb tube-reverb]
                               [--cores flat wavenet] [--ir SECONDS] [--work DIR]
                               [--nam-python PATH [--nam feather lstm]]

Installs what it needs with apt when it is missing (sox, tap-plugins, and
asc-music for held-out real music); nothing is committed. For each rig, as a guitarist
would:
1. `capture --sample-rate 48000` (3 minutes), played through the rig with sox;
2. `data --pair` (the latency found from the capture's blips), then `train` with the
   effects' defaults and each of --cores (the LSTM, `flat`, is the baseline) for --minutes,
   one after the other on the same dataset;
3. three ESR figures: training's `val_esr` (windows from a cold state), the whole
   validation segment with the state carried (`RUN/validation.json`), and held-out real
   music (30 s of each asc-music track, never trained on) through the same rig, applied
   with `eval --input --target` (the run's own alignment), with the do-nothing and
   gain-matched-dry baselines beside it.
With `--ir S`, each run is measured again with an impulse response of S seconds fitted
after its network (what `train --ir S` does at the end of training): the rigs with
tap_reverb (an RT60 of 1.16 s) ring far longer than any network here remembers.
With `--nam-python` (a Python with the `neural-amp-modeler` package, for example a venv
with PyTorch's CPU wheel: never a project dependency), the Neural Amp Modeler trainer
trains its WaveNet "feather" and its LSTM 1 x 24 on the same capture (the raw files, the
same latency and validation segment) for the same minutes, one after the other
(scripts/nam_anchor.py), and its models are scored on the same segment and music.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

PACKAGES = {"sox": "sox", "/usr/lib/ladspa/tap_tubewarmth.so": "tap-plugins",
            "/usr/share/games/asc/music": "asc-music"}
MUSIC = Path("/usr/share/games/asc/music")
#: sox effect chains: real LADSPA plugins, with sox's own shelving EQs as a tone stack.
#: Settings chosen so that the held-out music is clearly changed: the gain-matched dry
#: music is 10-20% away from the rig's output (at the first settings tried, tube warmth
#: at drive 6 and swh's foverdrive at 2.5, it was under 2%: nearly linear).
#: The reverb: tap_reverb at a 2 s decay setting (an RT60 of 1.16 s, measured on an
#: impulse), its tail 9 dB below the direct sound; a stereo plugin, so sox feeds it two
#: copies of the mono signal and keeps the left output.
REVERB = ["channels", "2", "ladspa", "tap_reverb.so", "tap_reverb", "2000", "0", "-8", "1", "1", "1",
          "0", "0", "remix", "1"]
RIGS = {
    "tube": ["ladspa", "tap_tubewarmth.so", "tap_tubewarmth", "10", "10",
             "bass", "-4", "120", "treble", "-6", "3500"],
    "sigmoid": ["ladspa", "tap_sigmoid.so", "tap_sigmoid", "12", "-6"],
    "reverb": REVERB,
    "tube-reverb": ["ladspa", "tap_tubewarmth.so", "tap_tubewarmth", "10", "10",
                    "bass", "-4", "120", "treble", "-6", "3500", *REVERB],
}
RATE = 48000


def install() -> None:
    missing = sorted({pkg for path, pkg in PACKAGES.items()
                      if not (shutil.which(path) or Path(path).exists())})
    if missing:
        print("installing", " ".join(missing), flush=True)
        subprocess.run(["apt-get", "install", "-y", "-q", *missing], check=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
                       stdout=subprocess.DEVNULL)


def audiornn(*args: str) -> str:
    r = subprocess.run([sys.executable, "-m", "audiornn", *args], capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"audiornn {args[0]} failed:\n{r.stderr[-2000:]}")
    return r.stdout


def through(rig: str, dry: Path, wet: Path) -> None:
    env = {**os.environ, "LADSPA_PATH": "/usr/lib/ladspa"}
    subprocess.run(["sox", str(dry), "-b", "24", str(wet), *RIGS[rig]], check=True, env=env,
                   stderr=subprocess.DEVNULL)


def held_out_music(work: Path) -> Path:
    """30 s of each asc-music track, mono at 48 kHz, peak -6 dBFS, in one file."""
    from audiornn import dsp
    from audiornn.data import audio

    out = work / "music_dry.wav"
    if not out.exists():
        parts = []
        for f in sorted(MUSIC.glob("*.mp3")):
            x, rate = audio.read(f)
            x = dsp.resample(x[int(30 * rate):int(60 * rate)], rate, RATE)
            parts.append(0.5 * x / max(1e-9, float(np.max(np.abs(x)))))
        audio.write(out, np.concatenate(parts), RATE, fmt="float")
    return out


def best_val_esr(run: Path) -> float:
    with open(run / "history.csv", newline="") as f:
        return min(float(r["val_esr"]) for r in csv.DictReader(f) if r.get("val_esr"))


def bench(rig: str, core: str, work: Path, minutes: float, music: Path, ir: float = 0.0) -> dict:
    """One rig and core: trained (once) for `minutes`; with `ir`, the same network plus an
    impulse response of `ir` seconds fitted after it (train --ir), in a copy of the run."""
    d = work / rig
    d.mkdir(parents=True, exist_ok=True)
    if not (d / "ds" / "dataset.json").exists():
        audiornn("capture", "--out", str(d / "reamp.wav"), "--sample-rate", str(RATE))
        through(rig, d / "reamp.wav", d / "rec.wav")
        shutil.rmtree(d / "ds", ignore_errors=True)
        print(audiornn("data", "--pair", str(d / "reamp.wav"), str(d / "rec.wav"),
                       "--out", str(d / "ds")), flush=True)
    run = d / f"run-{core}"
    if not (run / "model.keras").exists():
        t0 = time.perf_counter()
        print(audiornn("train", str(d / "ds"), "--run", str(run), "--core", core,
                       "--max-minutes", f"{minutes:g}", "--epochs", "1000"), flush=True)
        print(f"{rig}, {core}: trained for {(time.perf_counter() - t0) / 60:.1f} min", flush=True)
    if ir:
        run = with_ir(run, d / "ds", ir)
    if not (d / "music_wet.wav").exists():
        through(rig, music, d / "music_wet.wav")
    audiornn("eval", str(run), "--input", str(music), "--target", str(d / "music_wet.wav"), "-q")
    e = json.loads((run / "eval.json").read_text())["effect"]
    whole = json.loads((run / "validation.json").read_text())["esr"]
    return {"val_esr": best_val_esr(run), "whole": whole, "music": e["model"]["esr"],
            "gain_matched": e["dry_gain_matched"]["esr"], "nothing": e["do_nothing"]["esr"]}


def nam(rig: str, arch: str, work: Path, minutes: float, music: Path, python: str) -> dict:
    """The NAM trainer's `arch` on the rig's capture for `minutes` (scripts/nam_anchor.py),
    scored as `bench` scores audiornn: the validation segment from silence, and the
    held-out music at the run's latency."""
    from audiornn import metrics
    from audiornn.data import audio, open_dataset
    from audiornn.evaluation.evaluate import run_latency

    d = work / rig
    ds = open_dataset(d / "ds")
    lag = run_latency(ds) or 0
    (seg,) = ds.split("val")
    a, b = seg.offset, seg.offset + seg.length
    out = d / f"nam-{arch}"
    if not (out / "music_out.wav").exists():
        shutil.rmtree(out, ignore_errors=True)
        t0 = time.perf_counter()
        r = subprocess.run([python, str(Path(__file__).with_name("nam_anchor.py")),
                            "--dry", str(d / "reamp.wav"), "--wet", str(d / "rec.wav"),
                            "--delay", str(lag), "--val", str(a), str(b), "--arch", arch,
                            "--minutes", f"{minutes:g}", "--music", str(music), "--out", str(out)],
                           capture_output=True, text=True)
        if r.returncode:
            sys.exit(f"nam_anchor {arch} failed:\n{r.stderr[-3000:]}")
        print(f"{rig}, NAM {arch}: trained and applied in "
              f"{(time.perf_counter() - t0) / 60:.1f} min", flush=True)
    wet, _ = audio.read(d / "rec.wav")
    val, _ = audio.read(out / "val_out.wav")
    y, _ = audio.read(out / "music_out.wav")
    t, _ = audio.read(d / "music_wet.wav")
    t = t[lag:]
    n = min(len(t), len(y))
    return {"val_esr": float("nan"), "whole": metrics.esr(wet[a + lag:b + lag], val),
            "music": metrics.esr(t[:n], y[:n]), "gain_matched": float("nan"),
            "nothing": float("nan")}


def with_ir(run: Path, ds: Path, seconds: float) -> Path:
    """A copy of the run with an impulse response fitted after its network (as train --ir
    does at the end of training), and its whole-segment validation ESR re-measured."""
    from audiornn.data import open_dataset
    from audiornn.runtime.effect import Effect
    from audiornn.training.train import fit_ir

    out = run.with_name(f"{run.name}-ir")
    if not (out / "ir.wav").exists():
        shutil.rmtree(out, ignore_errors=True)
        shutil.copytree(run, out)
        t0 = time.perf_counter()
        dataset = open_dataset(ds)
        fit_ir(out, dataset, seconds)
        report = Effect.from_run(out).segment_report(dataset)
        (out / "validation.json").write_text(json.dumps({**json.loads(
            (run / "validation.json").read_text()), **report}))
        print(f"{out}: impulse response fitted in {time.perf_counter() - t0:.0f} s; kept: "
              f"{(out / 'ir.wav').exists()}", flush=True)
    return out


def pct(x: float) -> str:
    return "-" if np.isnan(x) else f"{x:.2%}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=5.0, help="training budget per rig")
    p.add_argument("--rigs", nargs="+", default=list(RIGS), choices=list(RIGS))
    p.add_argument("--cores", nargs="+", default=["flat", "wavenet"],
                   choices=["flat", "wavenet"], help="the LSTM (flat) is the baseline")
    p.add_argument("--work", help="keep the work files here (default: a temporary folder)")
    p.add_argument("--ir", type=float, default=0.0, metavar="SECONDS",
                   help="also each run plus an impulse response of this length (train --ir)")
    p.add_argument("--nam-python", metavar="PATH",
                   help="a Python with neural-amp-modeler: train its models too, same minutes")
    p.add_argument("--nam", nargs="+", default=["feather", "lstm"], choices=["feather", "lstm"])
    args = p.parse_args()
    install()
    work = Path(args.work or tempfile.mkdtemp(prefix="audiornn-gear-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"machine: {platform.machine()}, {os.cpu_count()} logical CPUs; work folder {work}")
    music = held_out_music(work)
    variants = [(core, 0.0) for core in args.cores] + [(core, args.ir) for core in args.cores if args.ir]
    rows = {(rig, core + (f"+ir{ir:g}" if ir else "")): bench(rig, core, work, args.minutes, music, ir)
            for rig in args.rigs for core, ir in variants}
    for rig in args.rigs if args.nam_python else ():
        for arch in args.nam:
            rows[rig, f"NAM {arch}"] = nam(rig, arch, work, args.minutes, music, args.nam_python)
    print(f"\nESR after {args.minutes:g} CPU-minutes of `train` (effect defaults), 48 kHz capture")
    print(f"{'rig':<12}{'core':<15}{'val_esr (windows)':>19}{'whole val segment':>19}"
          f"{'held-out music':>16}{'dry, gain-matched':>19}{'do nothing':>12}")
    for (rig, core), r in rows.items():
        print(f"{rig:<12}{core:<15}{pct(r['val_esr']):>19}{pct(r['whole']):>19}"
              f"{pct(r['music']):>16}{pct(r['gain_matched']):>19}{pct(r['nothing']):>12}")
    for rig in args.rigs:
        if (rig, "flat") in rows and (rig, "wavenet") in rows:
            a, b = rows[rig, "flat"]["music"], rows[rig, "wavenet"]["music"]
            print(f"{rig}: held-out music ESR, wavenet / LSTM = {b / max(a, 1e-12):.2f}")
        nams = [rows[k]["music"] for k in rows if k[0] == rig and k[1].startswith("NAM")]
        for core in args.cores if nams else ():
            print(f"{rig}: held-out music ESR, audiornn {core} / the NAM trainer's best = "
                  f"{rows[rig, core]['music'] / min(nams):.2f}")
        for core in args.cores if args.ir else ():
            a, b = rows[rig, core]["music"], rows[rig, f"{core}+ir{args.ir:g}"]["music"]
            print(f"{rig}: held-out music ESR, {core} with / without the impulse response = "
                  f"{b / max(a, 1e-12):.2f}")


if __name__ == "__main__":
    main()
