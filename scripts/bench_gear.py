"""Effects on real gear (not a test): LADSPA plugins from Debian, run by sox, captured like an amp.

  python scripts/bench_gear.py [--minutes 5] [--rigs tube sigmoid reverb tube-reverb]
                               [--cores flat wavenet] [--ir SECONDS] [--work DIR]
                               [--nam-python PATH [--nam feather lstm]] [--knobs]
                               [--hammerstein] [--curve MIN [MIN ...]]

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
With `--hammerstein`, the classical block model (static curves, then FIRs) fitted by
least squares beside them. With `--curve 5 10 20 40`, only ESR against training time (one
run resumed to each point, WORK/curve.png). With `--knobs`, only the knob test: the
tube rig recorded at 3 drive settings, a knob model over them judged at a 4th setting (on
held-out music) against a model trained on that 4th setting alone for the same minutes.
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
#: --knobs: the tube rig at several drive settings (tap_tubewarmth's first control, 0.1-10),
#: the knob being drive / 10. The model learns 3 of them and is judged at a 4th between,
#: against a model trained on that 4th setting itself.
KNOB_DRIVES, HELD_OUT_DRIVE = (2.0, 6.0, 10.0), 4.0


def tube_at(drive: float) -> list[str]:
    return ["ladspa", "tap_tubewarmth.so", "tap_tubewarmth", f"{drive:g}", "10", *RIGS["tube"][5:]]


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


def through(rig: str | list, dry: Path, wet: Path) -> None:
    env = {**os.environ, "LADSPA_PATH": "/usr/lib/ladspa"}
    chain = RIGS[rig] if isinstance(rig, str) else rig
    subprocess.run(["sox", str(dry), "-b", "24", str(wet), *chain], check=True, env=env,
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


def aligned_esr(target: np.ndarray, output: np.ndarray, lag: int) -> float:
    """The ESR of `output` against `target` `lag` samples later (the run's latency), over
    the length they share."""
    from audiornn import metrics

    n = min(len(target) - lag, len(output))
    return metrics.esr(target[lag:lag + n], output[:n])


def other_row(whole: float, music: float) -> dict:
    """A table row for a model trained outside `train` (no windows' ESR, no baselines)."""
    nan = float("nan")
    return {"val_esr": nan, "whole": whole, "music": music, "gain_matched": nan, "nothing": nan}


def best_val_esr(run: Path) -> float:
    with open(run / "history.csv", newline="") as f:
        return min(float(r["val_esr"]) for r in csv.DictReader(f) if r.get("val_esr"))


def prepare(rig: str, work: Path, music: Path) -> Path:
    """The rig's folder, with (once) its capture, recording, dataset and wet music."""
    d = work / rig
    d.mkdir(parents=True, exist_ok=True)
    if not (d / "ds" / "dataset.json").exists():
        audiornn("capture", "--out", str(d / "reamp.wav"), "--sample-rate", str(RATE))
        through(rig, d / "reamp.wav", d / "rec.wav")
        shutil.rmtree(d / "ds", ignore_errors=True)
        print(audiornn("data", "--pair", str(d / "reamp.wav"), str(d / "rec.wav"),
                       "--out", str(d / "ds")), flush=True)
    if not (d / "music_wet.wav").exists():
        through(rig, music, d / "music_wet.wav")
    return d


def bench(rig: str, core: str, work: Path, minutes: float, music: Path, ir: float = 0.0) -> dict:
    """One rig and core: trained (once) for `minutes`; with `ir`, the same network plus an
    impulse response of `ir` seconds fitted after it (train --ir), in a copy of the run."""
    d = prepare(rig, work, music)
    run = d / f"run-{core}"
    if not (run / "model.keras").exists():
        t0 = time.perf_counter()
        print(audiornn("train", str(d / "ds"), "--run", str(run), "--core", core,
                       "--max-minutes", f"{minutes:g}", "--epochs", "1000"), flush=True)
        print(f"{rig}, {core}: trained for {(time.perf_counter() - t0) / 60:.1f} min", flush=True)
    if ir:
        run = with_ir(run, d / "ds", ir)
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
    return other_row(metrics.esr(wet[a + lag:b + lag], val), aligned_esr(t, y, lag))


#: The parallel Hammerstein baseline's static curves (each followed by its own FIR):
#: odd and even powers for a tube stage's asymmetric bend, tanh for its hard limit.
CURVES = {"x": lambda x: x, "x^2": lambda x: x * x, "x^3": lambda x: x ** 3,
          "tanh 4x": lambda x: np.tanh(4 * x), "tanh 16x": lambda x: np.tanh(16 * x),
          "1": np.ones_like}


def fit_hammerstein(x: np.ndarray, y: np.ndarray, taps: int) -> list[np.ndarray]:
    """Least squares for y = sum_j h_j * f_j(x) (a static curve per branch, then an FIR of
    `taps`): the classical block model, fitted exactly. The normal equations are block
    Toeplitz, their entries the branches' cross-correlations, computed by FFT."""
    from scipy import fft, linalg

    u = [f(x) for f in CURVES.values()]
    n = fft.next_fast_len(len(x) + taps)
    U = [fft.rfft(v, n) for v in u]
    Y = fft.rfft(y, n)
    lag = np.arange(taps)[:, None] - np.arange(taps)[None, :]  # a - b
    k = len(u)
    A = np.zeros((k * taps, k * taps))
    for i in range(k):
        for j in range(i, k):
            c = fft.irfft(np.conj(U[i]) * U[j], n)  # c(t) = sum_m u_i[m] u_j[m + t]
            block = c[lag % n]
            A[i * taps:(i + 1) * taps, j * taps:(j + 1) * taps] = block
            A[j * taps:(j + 1) * taps, i * taps:(i + 1) * taps] = block.T
    b = np.concatenate([fft.irfft(np.conj(Ui) * Y, n)[:taps] for Ui in U])
    h = linalg.solve(A + 1e-9 * np.trace(A) / len(A) * np.eye(len(A)), b, assume_a="pos")
    return np.split(h, k)


def apply_hammerstein(h: list[np.ndarray], x: np.ndarray) -> np.ndarray:
    from scipy import signal
    return sum(signal.fftconvolve(f(x), hj)[:len(x)] for f, hj in zip(CURVES.values(), h))


def hammerstein(rig: str, work: Path, music: Path, taps: int = 512) -> dict:
    """The classical model, fitted by least squares on the capture's training part (from
    the sweeps to the validation segment), scored as `nam` scores the NAM trainer."""
    from audiornn import metrics
    from audiornn.data import audio, open_dataset
    from audiornn.evaluation.evaluate import run_latency

    d = work / rig
    ds = open_dataset(d / "ds")
    lag = run_latency(ds) or 0
    (seg,) = ds.split("val")
    a, b = seg.offset, seg.offset + seg.length
    dry, _ = audio.read(d / "reamp.wav")
    wet, _ = audio.read(d / "rec.wav")
    start = max(s.offset for s in ds.split("train") if s.offset < a)  # after the clicks
    t0 = time.perf_counter()
    h = fit_hammerstein(dry[start:a], wet[start + lag:a + lag], taps)
    print(f"{rig}: parallel Hammerstein ({len(CURVES)} branches x {taps} taps) fitted in "
          f"{time.perf_counter() - t0:.1f} s", flush=True)
    x, _ = audio.read(music)
    t, _ = audio.read(d / "music_wet.wav")
    return other_row(metrics.esr(wet[a + lag:b + lag], apply_hammerstein(h, dry[a:b])),
                     aligned_esr(t, apply_hammerstein(h, x), lag))


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


def knobs(work: Path, minutes: float, music: Path) -> dict:
    """A knob model (the WaveNet) over KNOB_DRIVES, judged on held-out music at
    HELD_OUT_DRIVE, beside a model of that setting alone trained as long; both applied
    with `generate --input` and scored at the runs' latency."""
    from audiornn.data import audio, open_dataset
    from audiornn.evaluation.evaluate import run_latency

    d = work / "knobs"
    d.mkdir(parents=True, exist_ok=True)
    if not (d / "reamp.wav").exists():
        audiornn("capture", "--out", str(d / "reamp.wav"), "--sample-rate", str(RATE))
    for drive in (*KNOB_DRIVES, HELD_OUT_DRIVE):
        if not (d / f"rec-{drive:g}.wav").exists():
            through(tube_at(drive), d / "reamp.wav", d / f"rec-{drive:g}.wav")
    target = d / f"music_wet-{HELD_OUT_DRIVE:g}.wav"
    if not target.exists():
        through(tube_at(HELD_OUT_DRIVE), music, target)
    sets = {"knob": [a for k in KNOB_DRIVES for a in ("--pair", str(d / "reamp.wav"),
                     str(d / f"rec-{k:g}.wav"), "--knob", f"drive={k / 10:g}")],
            "single": ["--pair", str(d / "reamp.wav"), str(d / f"rec-{HELD_OUT_DRIVE:g}.wav")]}
    t, _ = audio.read(target)
    out = {}
    for name, pairs in sets.items():
        if not (d / f"ds-{name}" / "dataset.json").exists():
            print(audiornn("data", *pairs, "--out", str(d / f"ds-{name}")), flush=True)
        run = d / f"run-{name}"
        if not (run / "model.keras").exists():
            print(audiornn("train", str(d / f"ds-{name}"), "--run", str(run), "--core", "wavenet",
                           "--max-minutes", f"{minutes:g}", "--epochs", "1000"), flush=True)
        y_path = d / f"music_out-{name}.wav"
        knob = ["--knob", f"drive={HELD_OUT_DRIVE / 10:g}"] if name == "knob" else []
        audiornn("generate", str(run), "--input", str(music), "--out", str(y_path), *knob,
                 "--format", "float", "--no-normalize")
        lag = run_latency(open_dataset(d / f"ds-{name}")) or 0
        y, _ = audio.read(y_path)
        out[name] = aligned_esr(t, y, lag)
    return out


def curve(rig: str, work: Path, points: list[float], music: Path) -> list[dict]:
    """ESR against training time: one WaveNet run on the rig, resumed with --max-minutes
    to each of `points` (cumulative minutes), scored at each (as `bench`); drawn in
    WORK/curve.png."""
    d = prepare(rig, work, music)
    run, done, rows = d / "run-curve", 0.0, []
    for m in points:
        budget = ["--max-minutes", f"{m - done:g}", "--epochs", "1000"]
        resume = ["--resume"] if (run / "history.csv").exists() else ["--core", "wavenet"]
        t0 = time.perf_counter()
        audiornn("train", str(d / "ds"), "--run", str(run), *resume, *budget)
        done = m
        audiornn("eval", str(run), "--input", str(music), "--target", str(d / "music_wet.wav"), "-q")
        e = json.loads((run / "eval.json").read_text())["effect"]["model"]["esr"]
        whole = json.loads((run / "validation.json").read_text())["esr"]
        rows.append({"minutes": m, "music": e, "whole": whole, "val_esr": best_val_esr(run)})
        print(f"{rig}, wavenet, {m:g} min ({(time.perf_counter() - t0) / 60:.1f} min this leg): "
              f"music {e:.2%}, whole val {whole:.2%}", flush=True)
    draw_curve(rows, work / "curve.png", rig)
    return rows


def draw_curve(rows: list[dict], path: Path, rig: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    m = [r["minutes"] for r in rows]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.plot(m, [100 * r["music"] for r in rows], "o-", label="held-out real music")
    ax.plot(m, [100 * r["whole"] for r in rows], "s--", label="whole validation segment")
    for y, name in ((1.0, "great < 1%"), (3.5, "not bad < 3.5%")):
        ax.axhline(y, color="grey", lw=0.8, ls=":")
        ax.text(m[-1], y, name, va="bottom", ha="right", fontsize=8, color="grey")
    ax.set_yscale("log")
    percent = matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}%")
    ax.yaxis.set_major_formatter(percent)
    ax.yaxis.set_minor_formatter(percent)
    ax.tick_params(axis="y", which="minor", labelsize=7)
    ax.set_xticks(m)
    ax.set_xlabel("CPU-minutes of train (2 cores)")
    ax.set_ylabel("ESR")
    ax.set_title(f"{rig} rig, WaveNet feather, 48 kHz: ESR against training time", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


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
    p.add_argument("--curve", nargs="+", type=float, metavar="MIN",
                   help="only ESR against training time: one WaveNet run on the first rig, "
                        "resumed to each of these cumulative minutes (e.g. 5 10 20 40)")
    p.add_argument("--hammerstein", action="store_true",
                   help="also the classical block model (static curves, then FIRs) fitted by "
                        "least squares: what an initialization from the sweeps would start from")
    p.add_argument("--knobs", action="store_true",
                   help="only the knob test: the WaveNet over 3 drive settings of the tube rig, "
                        "judged at a 4th against a model of that setting alone")
    p.add_argument("--nam", nargs="+", default=["feather", "lstm"], choices=["feather", "lstm"])
    args = p.parse_args()
    install()
    work = Path(args.work or tempfile.mkdtemp(prefix="audiornn-gear-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"machine: {platform.machine()}, {os.cpu_count()} logical CPUs; work folder {work}")
    music = held_out_music(work)
    if args.curve:
        rows = curve(args.rigs[0], work, sorted(args.curve), music)
        print(f"\nESR against CPU-minutes of `train`, {args.rigs[0]} rig, WaveNet feather "
              f"(one run, resumed); picture: {work / 'curve.png'}")
        print(f"{'minutes':<10}{'held-out music':>16}{'whole val segment':>19}{'val_esr':>10}")
        for r in rows:
            print(f"{r['minutes']:<10g}{pct(r['music']):>16}{pct(r['whole']):>19}"
                  f"{pct(r['val_esr']):>10}")
        return
    if args.knobs:
        k = knobs(work, args.minutes, music)
        print(f"\nthe tube rig at drive {', '.join(f'{x:g}' for x in KNOB_DRIVES)}, judged at "
              f"{HELD_OUT_DRIVE:g} on held-out music, {args.minutes:g} CPU-minutes each")
        print(f"  the knob model (never heard drive {HELD_OUT_DRIVE:g}): {k['knob']:.2%}")
        print(f"  a model of drive {HELD_OUT_DRIVE:g} alone:              {k['single']:.2%}")
        print(f"  ratio: {k['knob'] / max(k['single'], 1e-12):.2f} (target <= 2)")
        return
    variants = [(core, 0.0) for core in args.cores] + [(core, args.ir) for core in args.cores if args.ir]
    rows = {(rig, core + (f"+ir{ir:g}" if ir else "")): bench(rig, core, work, args.minutes, music, ir)
            for rig in args.rigs for core, ir in variants}
    for rig in args.rigs if args.hammerstein else ():
        rows[rig, "Hammerstein"] = hammerstein(rig, work, music)
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
