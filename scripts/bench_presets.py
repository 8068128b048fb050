"""The laptop presets, measured (not a test): what a minute of each job's default training does.

  python scripts/bench_presets.py [--work DIR] [--minutes 3] [--kit DIR]

Side by side in one run, on this machine:

1. generate: the default (tiered) on the bundled corpus, and effect: the default
   (1 x 32 LSTM, regression) on the capture signal through sox's `overdrive 20 20`,
   each for `--minutes` of training: steps done and seconds per step, which set
   the jobs' `steps_per_epoch` (about a minute's work).
2. one-shots on a real recorded kit (hydrogen-drumkits' BJA_Pacific: 86 hits, 44.1 kHz,
   installed with apt-get when missing): the previous defaults (the 2 x 256 LSTM,
   batch 32, Adam 1e-3, an epoch a pass over the hits) against the laptop preset
   (2 x 128, batch 16, Adam 3e-3, 15 steps an epoch), `--minutes` each, then
   held-out bits per sample against the LPC baseline (eval).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

PY = [sys.executable, "-m", "audiornn"]
KIT = "/usr/share/hydrogen/data/drumkits/BJA_Pacific"
OLD_ONESHOT = ["--units", "256", "--batch-size", "32", "--learning-rate", "1e-3",
               "--steps-per-epoch", "3"]  # 77 training hits / 32: the old one-pass epoch


def sh(*args: str) -> str:
    r = subprocess.run([*PY, *args], capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"{' '.join(args)} failed:\n{r.stderr[-3000:]}")
    return r.stderr + r.stdout


def need(binary: str, package: str, path: str | None = None) -> None:
    if shutil.which(binary) if path is None else Path(path).exists():
        return
    print(f"installing {package} (apt-get)", file=sys.stderr)
    subprocess.run(["apt-get", "install", "-y", "-qq", package], check=True,
                   env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))


def datasets(work: Path, kit: str) -> dict[str, Path]:
    need("sox", "sox")
    need("", "hydrogen-drumkits", kit)
    out = {"generate": work / "demo", "effect": work / "fx", "oneshot": work / "kit"}
    if not out["generate"].exists():
        sh("data", "--demo", "--out", str(out["generate"]), "-q")
    if not out["effect"].exists():
        sh("capture", "--out", str(work / "reamp.wav"), "--minutes", "3")
        subprocess.run(["sox", str(work / "reamp.wav"), str(work / "wet.wav"), "overdrive", "20",
                        "20"], check=True)
        sh("data", "--pair", str(work / "reamp.wav"), str(work / "wet.wav"), "--out",
           str(out["effect"]), "-q")
    if not out["oneshot"].exists():
        sh("data", "--oneshot", kit, "--out", str(out["oneshot"]), "-q")
    return out


def timed_train(ds: Path, run: Path, minutes: float, extra: list[str]) -> dict:
    shutil.rmtree(run, ignore_errors=True)
    t0 = time.perf_counter()
    text = sh("train", str(ds), "--run", str(run), "--max-minutes", str(minutes), "--epochs",
              "1000", "--patience", "1000", *extra)
    wall = time.perf_counter() - t0
    steps = 0
    for m in re.finditer(r"epoch (\d+)/\d+ done", text):
        steps = int(m.group(1))
    history = (run / "history.csv").read_text().splitlines()
    cfg = json.loads((run / "config.json").read_text())["train"]
    per_epoch = cfg["steps_per_epoch"]
    last = re.search(r"--max-minutes reached at epoch (\d+)(?:, step (\d+))?", text)
    if last and last.group(2):
        steps = (int(last.group(1)) - 1) * per_epoch + int(last.group(2))
    else:
        steps = (len(history) - 1) * per_epoch
    best = text.strip().splitlines()[-1]
    return {"steps": steps, "seconds_per_step": 60 * minutes / max(steps, 1), "wall_s": wall,
            "epochs": len(history) - 1, "steps_per_epoch": per_epoch, "summary": best}


def heldout(run: Path) -> dict:
    sh("eval", str(run), "--hits", "0", "-q")
    h = json.loads((run / "eval.json").read_text())["heldout"][0]
    return {"bits": h["model"]["bits"], "lpc": h["lpc"]["bits"]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--work", default="bench-presets", help="folder for datasets and runs")
    p.add_argument("--minutes", type=float, default=3.0, help="training budget of each run")
    p.add_argument("--kit", default=KIT, help="a folder of drum hits (default: BJA_Pacific)")
    a = p.parse_args()
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    ds = datasets(work, a.kit)
    rows = {}
    for job in ("generate", "effect"):
        rows[job] = timed_train(ds[job], work / f"run-{job}", a.minutes, [])
    for name, extra in (("oneshot, previous defaults", OLD_ONESHOT), ("oneshot, laptop preset", [])):
        run = work / f"run-{name.split(', ')[1].replace(' ', '-')}"
        rows[name] = {**timed_train(ds["oneshot"], run, a.minutes, extra), **heldout(run)}
    print(f"\n{platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"{a.minutes:g} minutes of training each")
    print(f"{'run':<30}{'steps':>7}{'s/step':>8}{'steps/epoch':>13}{'held-out bits':>15}{'LPC':>7}")
    for name, r in rows.items():
        bits = f"{r['bits']:.3f}" if "bits" in r else "-"
        lpc = f"{r['lpc']:.3f}" if "lpc" in r else "-"
        print(f"{name:<30}{r['steps']:>7}{r['seconds_per_step']:>8.2f}{r['steps_per_epoch']:>13}"
              f"{bits:>15}{lpc:>7}")
    (work / "presets.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
