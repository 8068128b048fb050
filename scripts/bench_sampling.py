"""The sampling sweep (not a test): temperature and probability floor against what a listener hears.

  python scripts/bench_sampling.py RUN [--seconds 8] [--num 4]
        [--temperatures 1 0.95 0.9 0.85] [--floors 0 0.0005 0.001] [--top-ps 0.99 0.98 0.95]

One run, side by side, the same model and seeds: for every temperature and
floor, `--num` files of `--seconds`, compared with as much real held-out
audio (the run's validation split) by `eval`'s checks: spectral distance, the
voiced share (metrics.voiced_fraction, which noise cannot fool), the share of
frames at the real level, silence, and the spectral flatness (1 = white
noise). Spectrograms of the best and the plain softmax go to
RUN/plots/sampling-*.png.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from audiornn import metrics
from audiornn.data import (
    audio,  # noqa: E402
    open_dataset,  # noqa: E402
)
from audiornn.evaluation.plots import plot_spectrograms  # noqa: E402
from audiornn.runtime.sampler import Generator  # noqa: E402
from audiornn.runtime.scoring import dataset_sequences  # noqa: E402


def real_audio(gen: Generator, n: int, count: int) -> list[np.ndarray]:
    ds = open_dataset(gen.config.dataset["path"])
    held = np.concatenate([gen.codec.decode(s["target"])[0]
                           for s in dataset_sequences(ds, "val", n * count, 0)])
    return [held[k:k + n] for k in range(0, len(held) - n + 1, n)] or [held]


def numbers(clips: list[np.ndarray], real: list[np.ndarray], rate: int) -> dict:
    ref = metrics.active_median_db(np.concatenate(real))
    joined = np.concatenate(clips)
    return {"spectral distance dB": metrics.spectral_distance_db(joined, np.concatenate(real), rate),
            "voiced": metrics.voiced_fraction(joined, rate),
            "level ok": metrics.level_match(joined, ref),
            "silent": metrics.silent_fraction(joined),
            "flatness": metrics.spectral_flatness(joined, rate)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run")
    p.add_argument("--seconds", type=float, default=8.0)
    p.add_argument("--num", type=int, default=4)
    p.add_argument("--temperatures", type=float, nargs="+", default=[1.0, 0.95, 0.9, 0.85])
    p.add_argument("--floors", type=float, nargs="+", default=[0.0, 0.0005, 0.001])
    p.add_argument("--top-ps", type=float, nargs="+", default=[0.99, 0.98, 0.95],
                   help="nucleus sampling's shares, each tried with no floor")
    a = p.parse_args()
    settings = ([(t, f, 1.0) for t in a.temperatures for f in a.floors]
                + [(t, 0.0, q) for t in a.temperatures for q in a.top_ps if q < 1])
    gen = Generator.from_run(a.run)
    rate = gen.sample_rate
    real = real_audio(gen, int(a.seconds * rate), a.num)
    rows, clips_for = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for t, f, q in settings:
            out = Path(tmp) / f"t{t:g}-f{f:g}-p{q:g}"
            paths = gen.write(out, seconds=a.seconds, num=max(a.num, 2), temperature=t,
                              floor=f, top_p=q, seed=0, progress=False, report=False)
            clips = [audio.read(c)[0] for c in paths][: a.num]
            rows[(t, f, q)] = numbers(clips, real, rate)
            clips_for[(t, f, q)] = clips[0]
    rows[("real", "", "")] = numbers(real, real, rate)
    keys = list(next(iter(rows.values())))
    print(f"{Path(a.run).name}: {a.num} x {a.seconds:g} s per setting, seed 0, against "
          f"{len(real)} x {a.seconds:g} s of held-out audio")
    print(f"{'temperature':>12}{'floor':>8}{'top-p':>7}" + "".join(f"{k:>22}" for k in keys))
    for (t, f, q), r in rows.items():
        cells = "".join(f"{v:>22.0%}" if k in ("voiced", "level ok", "silent") else f"{v:>22.2f}"
                        for k, v in r.items())
        print(f"{t!s:>12}{f!s:>8}{q!s:>7}" + cells)
    best = min((k for k in rows if k[0] != "real"), key=lambda k: rows[k]["spectral distance dB"])
    shown = dict.fromkeys([settings[0], best, settings[-1]])
    panels = {f"T {t:g}, floor {f:g}, top-p {q:g}": clips_for[(t, f, q)] for t, f, q in shown}
    plot = plot_spectrograms({**panels, "real (held-out)": real[0]}, rate,
                             Path(a.run) / "plots" / "sampling.png")
    print(f"closest spectrum: temperature {best[0]:g}, floor {best[1]:g}, top-p {best[2]:g}; "
          f"spectrograms: {plot}")


if __name__ == "__main__":
    sys.exit(main())
