"""Effects on real gear (not a test): LADSPA plugins from Debian, run by sox, captured like an amp.

  python scripts/bench_gear.py [--minutes 5] [--rigs tube sigmoid] [--cores flat wavenet]
                               [--work DIR]

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
RIGS = {
    "tube": ["ladspa", "tap_tubewarmth.so", "tap_tubewarmth", "10", "10",
             "bass", "-4", "120", "treble", "-6", "3500"],
    "sigmoid": ["ladspa", "tap_sigmoid.so", "tap_sigmoid", "12", "-6"],
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


def bench(rig: str, core: str, work: Path, minutes: float, music: Path) -> dict:
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
    if not (d / "music_wet.wav").exists():
        through(rig, music, d / "music_wet.wav")
    audiornn("eval", str(run), "--input", str(music), "--target", str(d / "music_wet.wav"), "-q")
    e = json.loads((run / "eval.json").read_text())["effect"]
    whole = json.loads((run / "validation.json").read_text())["esr"]
    return {"val_esr": best_val_esr(run), "whole": whole, "music": e["model"]["esr"],
            "gain_matched": e["dry_gain_matched"]["esr"], "nothing": e["do_nothing"]["esr"]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=5.0, help="training budget per rig")
    p.add_argument("--rigs", nargs="+", default=list(RIGS), choices=list(RIGS))
    p.add_argument("--cores", nargs="+", default=["flat", "wavenet"],
                   choices=["flat", "wavenet"], help="the LSTM (flat) is the baseline")
    p.add_argument("--work", help="keep the work files here (default: a temporary folder)")
    args = p.parse_args()
    install()
    work = Path(args.work or tempfile.mkdtemp(prefix="audiornn-gear-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"machine: {platform.machine()}, {os.cpu_count()} logical CPUs; work folder {work}")
    music = held_out_music(work)
    rows = {(rig, core): bench(rig, core, work, args.minutes, music)
            for rig in args.rigs for core in args.cores}
    print(f"\nESR after {args.minutes:g} CPU-minutes of `train` (effect defaults), 48 kHz capture")
    print(f"{'rig':<8}{'core':<9}{'val_esr (windows)':>19}{'whole val segment':>19}"
          f"{'held-out music':>16}{'dry, gain-matched':>19}{'do nothing':>12}")
    for (rig, core), r in rows.items():
        print(f"{rig:<8}{core:<9}{r['val_esr']:>19.2%}{r['whole']:>19.2%}{r['music']:>16.2%}"
              f"{r['gain_matched']:>19.2%}{r['nothing']:>12.2%}")
    for rig in args.rigs:
        if (rig, "flat") in rows and (rig, "wavenet") in rows:
            a, b = rows[rig, "flat"]["music"], rows[rig, "wavenet"]["music"]
            print(f"{rig}: held-out music ESR, wavenet / LSTM = {b / max(a, 1e-12):.2f}")


if __name__ == "__main__":
    main()
