"""One-shot benchmark (not a test): second onsets, the map, and --like, on the demo kit.

  python scripts/bench_oneshot.py [--work DIR] [--epochs 8] [--steps 30] [--hits 8]

Side by side in one run, on the synthesized demo kit (12 hits of kick, snare
and hat; 10 train / 2 held out per label) with the demo's training budget
(scripts/demo.sh oneshots: 8 epochs x 30 steps of 16 hits, 2 x 128 LSTM):

1. baseline: the previous one-shot model (labels only: --latent-dim 0 --no-position);
   map: the default (a 2-D learned map, and the step's position within the hit).
   For each: held-out bits, per label the share of generated hits with a
   second onset (metrics.second_onset) and the attack error, and for the map
   the share of hits generated at a training hit's point that are closer to
   it than to every other label's average (eval's map section).
2. --like: every held-out hit is placed on the map (hitmap.place, timed), and
   hits generated at its point are compared with hits generated at random
   points of the map (uniform in its box, the nearest hit's label), by
   spectral distance to the held-out hit: a trial is one random point.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from audiornn import data as dataset  # noqa: E402
from audiornn import jobs, metrics  # noqa: E402
from audiornn.data import audio, corpus
from audiornn.evaluation import evaluate as evaluation  # noqa: E402
from audiornn.jobs.oneshot_data import read_hit  # noqa: E402
from audiornn.runtime.hitmap import hit_envelope, place  # noqa: E402
from audiornn.runtime.sampler import Generator  # noqa: E402

PY = [sys.executable, "-m", "audiornn"]


def sh(*args: str) -> None:
    subprocess.run([*PY, *args], check=True, stdout=subprocess.DEVNULL)


def train_eval(ds: Path, run: Path, extra: list[str], a: argparse.Namespace) -> dict:
    t0 = time.perf_counter()
    if not (run / "model.keras").exists():
        sh("train", str(ds), "--run", str(run), "--epochs", str(a.epochs), "--steps-per-epoch",
           str(a.steps), "--patience", str(a.epochs), "--batch-size", "16", "--units", "128",
           "--learning-rate", "3e-3", "-q", *extra)
    minutes = (time.perf_counter() - t0) / 60
    r = evaluation.evaluate(run, hits_per_label=a.hits, quiet=True)
    return {"train_minutes": minutes, "bits": r["heldout"][0]["model"]["bits"],
            "oneshots": {k: {m: v[m] for m in ("second_onsets", "second_onsets_real",
                                              "attack_within_5ms", "attack_error_ms_median",
                                              "spectral_distance_db")}
                         for k, v in r["oneshots"].items()},
            "map": {k: v for k, v in (r.get("map") or {}).items() if k != "grid"}}


def like_trials(run: Path, ds_path: Path, work: Path, per_hit: int, seed: int = 0) -> dict:
    gen = Generator.from_run(run)
    hm, rate = gen.map(), gen.sample_rate
    ds = dataset.open_dataset(ds_path)
    rng = np.random.default_rng(seed)
    lo, hi = hm.bounds()
    wins, times, rows = [], [], []
    for k, seg in enumerate(ds.split("val")):
        hit = read_hit(ds, seg)
        ref = metrics.average_spectrum(hit, rate, 256)[1]
        t0 = time.perf_counter()
        res = place(gen.model, gen.config, seg.source)
        times.append(time.perf_counter() - t0)
        randoms = lo + (hi - lo) * rng.random((per_hit, hm.dim))
        pts = np.vstack([np.tile(res["point"], (2, 1)), np.repeat(randoms, 2, axis=0)])
        weights = hm.label_weights(pts)
        if res["label"] >= 0:
            weights[:2] = np.eye(len(hm.label_names))[res["label"]]
        envs = None
        if gen.envelope is not None:  # as generate --like: its hits follow the dropped hit's level
            envs = gen.hit_envelopes(len(pts), gen.layout.length_samples, pts, weights)
            envs[:2] = hit_envelope(seg.source, gen.config)
        paths = gen.write(work / f"like{k}", num=len(pts), seed=seed, points=pts,
                          temperature=jobs.get(gen.config.job.name).temperature,
                          label_weights=weights, progress=False, envelopes=envs)
        spec = [metrics.average_spectrum(audio.read(p)[0], rate, 256)[1] for p in paths]
        d = [metrics.log_spectral_distance_db(np.mean(spec[i:i + 2], axis=0), ref)
             for i in range(0, len(spec), 2)]
        wins += [d[0] < x for x in d[1:]]
        rows.append({"hit": seg.source, "label": ds.labels[seg.label],
                     "fitted_label": hm.label_names[res["label"]] if res["label"] >= 0 else None,
                     "seconds": times[-1], "distance_db_like": d[0],
                     "distance_db_random_median": float(np.median(d[1:]))})
    t0 = time.perf_counter()  # the whole command, start-up included
    subprocess.run([*PY, "generate", str(run), "--like", ds.split("val")[0].source, "--num", "4",
                    "--out", str(work / "like-cli"), "-q"], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return {"trials": len(wins), "like_beats_random": float(np.mean(wins)),
            "place_seconds_max": float(np.max(times)), "place_seconds_median": float(np.median(times)),
            "cli_seconds": time.perf_counter() - t0, "hits": rows}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--work", default="/tmp/bench-oneshot")
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--hits", type=int, default=8, help="generated hits per label")
    p.add_argument("--random-points", type=int, default=5, help="random points per held-out hit")
    a = p.parse_args()
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    kit, ds = work / "kit", work / "ds"
    if not ds.exists():
        corpus.write_demo_kit(kit)
        sh("data", "--oneshot", str(kit), "--out", str(ds), "--attack", "0.02", "--length", "0.3")
    out = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
           "budget": f"{a.epochs} epochs x {a.steps} steps of 16 hits, 2 x 128 LSTM"}
    out["baseline"] = train_eval(ds, work / "baseline", ["--latent-dim", "0", "--no-position"], a)
    out["map"] = train_eval(ds, work / "map", [], a)
    out["like"] = like_trials(work / "map", ds, work, a.random_points)
    (work / "bench_oneshot.json").write_text(json.dumps(out, indent=1))
    print(json.dumps({k: v for k, v in out.items() if k != "like"}, indent=1))
    print(json.dumps({k: v for k, v in out["like"].items() if k != "hits"}, indent=1))
    for name in ("baseline", "map"):
        print(f"{name}: bits {out[name]['bits']:.3f}, second onsets "
              + ", ".join(f"{k} {v['second_onsets']:.0%}" for k, v in out[name]["oneshots"].items()))


if __name__ == "__main__":
    main()
