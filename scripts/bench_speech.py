"""Real speech (not a test): train the default model on a real recorded voice and judge it.

  python scripts/bench_speech.py [--work DIR] [--minutes 10] [--voice es]

Fetches a real recorded voice from Debian (asterisk-core-sounds-es-g722 or -fr-g722:
16 kHz prompts of one speaker, about 30 minutes; installed with apt-get, with ffmpeg
to decode G.722), never into the repository. Builds a dataset from it, trains the
default model for `--minutes` (`train --max-minutes`), then runs `eval --generate 8`:
held-out bits against the LPC and unigram baselines, and generated against real
audio (spectral distance, voiced share, level), with the spectrograms in
RUN/plots/. Then the sampling sweep (scripts/bench_sampling.py) on the same run.
"""

from __future__ import annotations

import argparse
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


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--work", default="bench-speech")
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--voice", default="es", choices=["es", "fr"])
    a = p.parse_args()
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    wavs = voice_wavs(work, a.voice)
    ds, run = work / f"ds-{a.voice}", work / f"run-{a.voice}-{a.minutes:g}min"
    if not ds.exists():
        subprocess.run([*PY, "data", str(wavs), "--out", str(ds), "-q"], check=True)
    if not run.exists():
        subprocess.run([*PY, "train", str(ds), "--run", str(run), "--max-minutes", str(a.minutes),
                        "--epochs", "100000", "--patience", "100000"], check=True)
    subprocess.run([*PY, "eval", str(run), "--generate", "8", "-q"], check=True)
    r = json.loads((run / "eval.json").read_text())
    h, g = r["heldout"][0], r["generated"]
    print(f"\n{a.voice} voice, {a.minutes:g} minutes of training: held-out {h['model']['bits']:.3f} "
          f"bits/sample (LPC {h['lpc']['bits']:.3f}, unigram {h['unigram']['bits']:.3f}); "
          f"generated voiced {g['clips']['generated']['voiced_fraction']:.0%} "
          f"(real {g['real']['voiced_fraction']:.0%})")
    subprocess.run([sys.executable, str(HERE / "bench_sampling.py"), str(run)], check=True)


if __name__ == "__main__":
    main()
