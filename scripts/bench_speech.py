"""Real speech (not a test): train the default model on a real recorded voice and judge it.

  python scripts/bench_speech.py [--work DIR] [--minutes 10] [--voice es] [--variants default lpc16]
  python scripts/bench_speech.py --scaling 10 30 90 [--work DIR]

Fetches a real recorded voice from Debian (asterisk-core-sounds-es-g722 or -fr-g722:
16 kHz prompts of one speaker, about 30 minutes; installed with apt-get, with ffmpeg
to decode G.722), never into the repository. Builds a dataset from it, trains the
default model for `--minutes` (`train --max-minutes`), then runs `eval --generate 8`:
held-out bits against the LPC and unigram baselines, and generated against real
audio (spectral distance, voiced share, level), with the spectrograms in
RUN/plots/. Then the sampling sweep (scripts/bench_sampling.py) on the same run.
`--variants` trains several settings side by side (the same budget each) and
prints them in one table. `--scaling` instead trains one run of the default,
resumed to each total (10, 30 and 90 minutes cost 90 minutes), judged at each
point, with each point's plots kept in WORK/scaling-LANG-Mmin/.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

PY = [sys.executable, "-m", "audiornn"]
HERE = Path(__file__).resolve().parent


def apt(*packages: str) -> None:
    subprocess.run(["apt-get", "install", "-y", "-qq", *packages], check=True,
                   env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))


def voice_wavs(work: Path, voice: str) -> Path:
    """The voice's prompts decoded to 16 kHz WAV files in WORK/voice-LANG (once)."""
    out = work / f"voice-{voice}"
    if out.exists() and any(out.iterdir()):
        return out
    if not shutil.which("ffmpeg"):
        apt("ffmpeg")
    roots = sorted(Path("/usr/share/asterisk/sounds").glob(f"{voice}_*"))
    if not roots:
        apt(f"asterisk-core-sounds-{voice}-g722")
        roots = sorted(Path("/usr/share/asterisk/sounds").glob(f"{voice}_*"))
    files = sorted(roots[0].rglob("*.g722"))
    out.mkdir(parents=True, exist_ok=True)
    for f in files:
        name = "_".join(f.relative_to(roots[0]).with_suffix(".wav").parts)
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "g722", "-i", str(f), "-ar",
                        "16000", str(out / name)], check=True, stdin=subprocess.DEVNULL)
    return out


#: The variants `--variants` trains side by side (train options beyond the defaults).
VARIANTS = {"default": [], "lpc16": ["--lpc", "16"], "lpc32": ["--lpc", "32"],
            "nolpc": ["--lpc", "0"], "noise6": ["--input-noise", "6"],
            "lpc16-noise6": ["--lpc", "16", "--input-noise", "6"],
            # The step size: the default is 0.003 since this comparison (docs/benchmarks.md).
            "lr1": ["--learning-rate", "0.001"], "lr3": ["--learning-rate", "0.003"],
            "stateful8": ["--stateful", "8"],
            "lr1-stateful8": ["--learning-rate", "0.001", "--stateful", "8"],
            "lr3-stateful8": ["--learning-rate", "0.003", "--stateful", "8"],
            # The pitch stream: the sample one period back, periods up to 320 samples (50 Hz).
            "pitch320": ["--pitch", "320"], "pitch320-stateful8": ["--pitch", "320", "--stateful", "8"],
            # A larger first step that falls to a tenth over the budget (--lr-decay).
            "lr3-decay": ["--learning-rate", "0.003", "--lr-decay", "0.1"],
            "lr6-decay": ["--learning-rate", "0.006", "--lr-decay", "0.1"],
            # A second seed of the two, to tell a setting from a run's luck.
            "seed1": ["--seed", "1"],
            "lr6-decay-seed1": ["--learning-rate", "0.006", "--lr-decay", "0.1", "--seed", "1"]}


def train(ds: Path, run: Path, minutes: float, extra: list[str], resume: bool = False) -> None:
    """Trains a run for `minutes` more (train --max-minutes; --resume continues it)."""
    subprocess.run([*PY, "train", str(ds), "--run", str(run), "--max-minutes", f"{minutes:g}",
                    "--epochs", "100000", "--patience", "100000", *(["--resume"] if resume else extra)],
                   check=True)


def trained_minutes(run: Path) -> float:
    """Minutes of training a run has had (history.csv's clock; 0 for none)."""
    if not (run / "history.csv").exists():
        return 0.0
    with open(run / "history.csv") as f:
        rows = list(csv.DictReader(f))
    return float(rows[-1]["minutes"]) if rows else 0.0


def figures(eval_json: Path) -> dict:
    """A judged run's figures, from its eval.json."""
    r = json.loads(eval_json.read_text())
    h, g = r["heldout"][0], r["generated"]
    return {"bits": h["model"]["bits"], "lpc bits": h["lpc"]["bits"],
            "unigram bits": h["unigram"]["bits"],
            "voiced": g["clips"]["generated"]["voiced_fraction"], "real voiced": g["real"]["voiced_fraction"],
            "spectral distance dB": g["clips"]["generated"]["spectral_distance_db"],
            "level dBFS": g["clips"]["generated"]["rms_dbfs"], "real level dBFS": g["real"]["rms_dbfs"]}


def judge(run: Path, label: str) -> dict:
    """eval --generate 8 on a run; prints and returns its figures."""
    subprocess.run([*PY, "eval", str(run), "--generate", "8", "-q"], check=True)
    row = figures(run / "eval.json")
    print(f"\n{label}: held-out {row['bits']:.3f} bits/sample (LPC {row['lpc bits']:.3f}, "
          f"unigram {row['unigram bits']:.3f}); generated voiced {row['voiced']:.0%} "
          f"(real {row['real voiced']:.0%}), spectral distance {row['spectral distance dB']:.1f} dB, "
          f"level {row['level dBFS']:.1f} dBFS (real {row['real level dBFS']:.1f})", flush=True)
    return row


def picture(work: Path, voice: str, points: list, rows: dict) -> None:
    """WORK/scaling-LANG.png: held-out bits and the voiced share against minutes, then each
    point's spectrograms (generated beside real, as eval drew them)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(10, 3.2 * (len(points) + 1)))
    ax = fig.add_subplot(len(points) + 1, 1, 1)
    r = list(rows.values())
    ax.plot(points, [x["bits"] for x in r], "o-", label="the model, held out")
    ax.axhline(r[0]["lpc bits"], color="grey", ls="--", label="LPC-32 baseline")
    ax.set_xlabel("minutes of training (this 2-core CPU)")
    ax.set_ylabel("bits per sample")
    ax.set_xticks(points)
    twin = ax.twinx()
    twin.plot(points, [100 * x["voiced"] for x in r], "s-", color="tab:red", label="generated voiced %")
    twin.axhline(100 * r[0]["real voiced"], color="tab:red", ls=":", label="real voiced %")
    twin.set_ylabel("voiced frames, %")
    twin.set_ylim(0, 100)
    fig.legend(loc="upper center", ncol=4, fontsize=8)
    for i, m in enumerate(points):
        sub = fig.add_subplot(len(points) + 1, 1, i + 2)
        sub.imshow(plt.imread(work / f"scaling-{voice}-{m:g}min" / "spectrograms.png"))
        sub.set_title(f"after {m:g} minutes", fontsize=10)
        sub.axis("off")
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    fig.savefig(work / f"scaling-{voice}.png", dpi=80)
    print(f"picture: {work / f'scaling-{voice}.png'}")


def table(rows: dict) -> None:
    keys = list(next(iter(rows.values())))
    print(f"\n{'':<24}" + "".join(f"{k:>16}" for k in rows))
    for k in keys:
        cells = [f"{rows[n][k]:>16.0%}" if "voiced" in k else f"{rows[n][k]:>16.3f}" for n in rows]
        print(f"{k:<24}" + "".join(cells))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--work", default="bench-speech")
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--voice", default="es", choices=["es", "fr"])
    p.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=["default"],
                   help="train these side by side, each for --minutes (default: the default only)")
    p.add_argument("--scaling", nargs="+", type=float, metavar="MIN",
                   help="instead: one run of the default, resumed to each of these totals "
                        "(e.g. 10 30 90), judged at each point")
    p.add_argument("--no-sweep", action="store_true", help="skip the sampling sweep")
    a = p.parse_args()
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    wavs = voice_wavs(work, a.voice)
    ds = work / f"ds-{a.voice}"
    if not ds.exists():
        subprocess.run([*PY, "data", str(wavs), "--out", str(ds), "-q"], check=True)
    rows = {}
    if a.scaling:
        run = work / f"run-{a.voice}-scaling"
        for minutes in sorted(a.scaling):
            point = work / f"scaling-{a.voice}-{minutes:g}min"
            if not (point / "eval.json").exists():
                done = trained_minutes(run)
                train(ds, run, minutes - done, [], resume=done > 0)
                rows[f"{minutes:g} min"] = judge(run, f"{a.voice} voice, {minutes:g} minutes")
                shutil.copytree(run / "plots", point, dirs_exist_ok=True)
                shutil.copy(run / "eval.json", point / "eval.json")
            else:
                rows[f"{minutes:g} min"] = figures(point / "eval.json")
        table(rows)
        picture(work, a.voice, sorted(a.scaling), rows)
        return
    for name in a.variants:
        suffix = "" if name == "default" else f"-{name}"
        run = work / f"run-{a.voice}-{a.minutes:g}min{suffix}"
        if not (run / "model.keras").exists():
            train(ds, run, a.minutes, VARIANTS[name])
        rows[name] = judge(run, f"{a.voice} voice, {name}, {a.minutes:g} minutes of training")
    table(rows)
    if not a.no_sweep:
        first = work / f"run-{a.voice}-{a.minutes:g}min"
        subprocess.run([sys.executable, str(HERE / "bench_sampling.py"), str(first)], check=True)


if __name__ == "__main__":
    main()
