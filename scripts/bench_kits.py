"""One-shots on real recorded kits (not a test): hydrogen-drumkits, learned as a producer would.

  python scripts/bench_kits.py [--kits BJA_Pacific ElectricEmpireKit] [--minutes 10] [--work DIR]
                               [--pca-map]

For each kit of Debian's `hydrogen-drumkits` (installed with apt when missing;
nothing is committed): its hits in one folder per family (kick, snare, hat, tom,
cymbal, other), from the instrument names of the kit's drumkit.xml (every velocity
layer of an instrument goes with it), `data --oneshot` at the kit's own rate
(44.1 kHz), `train` with the one-shot defaults for --minutes, then:

- held-out bits per sample against the LPC baseline (`eval`);
- second onsets of generated hits: the model alone and as `generate` writes them
  (ended by the gate), against the real hits';
- the spectral centroid per class, real against generated;
- `--like`: each held-out hit placed on the map; hits made at its point against
  hits made at random points of the map, by spectral distance to the held-out hit;
- map lines: between pairs of training hits of different classes, 5 hits along the
  line; the share of lines whose centroids move monotonically, the 5 made as one batch
  (each its own random numbers) and each with the same seed (only the point changes).

`--pca-map` trains with the map started as before brightness led it (the baseline:
scripts/pca_map_train.py); run it beside the default in another --work, each under
`taskset -c N` with TF_NUM_INTRAOP_THREADS=1, to compare the two at equal CPU time.
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
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_oneshot import like_trials  # noqa: E402

from audiornn import jobs, metrics  # noqa: E402
from audiornn.data import audio  # noqa: E402
from audiornn.runtime.sampler import Generator  # noqa: E402

KITS = Path("/usr/share/hydrogen/data/drumkits")
PY = [sys.executable, "-m", "audiornn"]


def sh(*args: str, py: list[str] = PY) -> str:
    r = subprocess.run([*py, *args], capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"audiornn {args[0]} failed:\n{r.stderr[-3000:]}")
    return r.stdout + r.stderr


def install() -> None:
    if not KITS.exists():
        print("installing hydrogen-drumkits (apt-get)", flush=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "hydrogen-drumkits"], check=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
                       stdout=subprocess.DEVNULL)


#: Families of drum sounds by the words in an instrument's name (the first that matches).
FAMILIES = (("kick", r"kick|bass ?drum|\bbd"), ("snare", r"snare|clap|rim|\bsn"),
            ("hat", r"hat|\bhh|hi.?h"), ("tom", r"tom|conga|bongo"),
            ("cymbal", r"crash|ride|cym|splash|china|bell"))


def family(name: str) -> str:
    return next((f for f, pattern in FAMILIES if re.search(pattern, name, re.IGNORECASE)),
                "other")


def classes(kit: Path, out: Path) -> dict[str, int]:
    """The kit as one folder per family (links to its instruments' layers); {family: hits}."""
    root = ET.parse(kit / "drumkit.xml").getroot()
    ns = re.match(r"\{.*\}", root.tag)
    ns = ns.group(0) if ns else ""
    counts = {}
    for inst in root.iter(f"{ns}instrument"):
        name = family(inst.findtext(f"{ns}name", ""))
        files = sorted({e.text for e in inst.iter(f"{ns}filename") if e.text})
        for f in (f for f in files if (kit / f).exists()):
            (out / name).mkdir(parents=True, exist_ok=True)
            link = out / name / Path(f).name
            if not link.exists():
                link.symlink_to(kit / f)
                counts[name] = counts.get(name, 0) + 1
    for k in [k for k, v in counts.items() if v < 2]:  # a class needs a hit to hold out
        shutil.rmtree(out / k)
        del counts[k]
    return counts


def map_lines(run: Path, work: Path, pairs: int = 8, steps: int = 5, seed: int = 0,
              same_seed: bool = False, per_point: int = 1, blend: bool = True) -> dict:
    """Hits along lines between training hits of different classes: monotonic centroids?
    With `same_seed`, every point of a line is made with the same seed, as a user walking
    the map with `generate --at X,Y --seed S` hears it: only the point changes. With
    `per_point` N > 1, each point makes N hits (each its own random numbers) and its
    centroid is their median: what the point sounds like, not one draw's luck. Otherwise
    the points are one batch, each row its own random numbers. With `blend` off, each
    point takes its nearest hit's label (as before labels blended along the map)."""
    gen = Generator.from_run(run)
    hm, rate = gen.map(), gen.sample_rate
    job = jobs.get(gen.config.job.name)
    rng = np.random.default_rng(seed)
    labels = np.asarray(hm.labels)
    monotonic, along = [], []
    for k in range(pairs):
        a = int(rng.integers(len(labels)))
        others = np.nonzero(labels != labels[a])[0]
        if not len(others):
            break
        b = int(rng.choice(others))
        pts = np.linspace(hm.points[a], hm.points[b], steps)
        if same_seed:
            groups = [(work / f"line{k}-seed-{i}.wav", pts[i:i + 1]) for i in range(steps)]
        elif per_point > 1:
            groups = [(work / f"line{k}-point{i}", np.repeat(pts[i:i + 1], per_point, 0))
                      for i in range(steps)]
        else:
            groups = [(work / f"line{k}", pts)]
        c = []
        for out, r in groups:
            paths = gen.write(out, num=len(r), seed=seed, points=r, temperature=job.temperature,
                              label_weights=hm.label_weights(r, blend), progress=False, report=False,
                              gate_db=job.gate_db)
            cs = [metrics.spectral_centroid(audio.read(p)[0], rate) for p in paths]
            c += [float(np.median(cs))] if len(groups) > 1 else cs
        monotonic.append(line_shape(c))
        along.append({"from": hm.label_of(a), "to": hm.label_of(b), "centroids_hz": [round(v) for v in c]})
    if not monotonic:
        return {"lines": 0, "monotonic": None, "monotonic_10pct": None, "changing": 0,
                "changing_monotonic": None}
    m = np.array(monotonic)
    return {"lines": len(m), "monotonic": float(m[:, 0].mean()),
            "monotonic_10pct": float(m[:, 1].mean()), "changing": int(m[:, 2].sum()),
            "changing_monotonic": float(m[m[:, 2], 0].mean()) if m[:, 2].any() else None,
            "along": along}


def line_shape(centroids, tolerance: float = 1.1, changing: float = 2.0) -> tuple:
    """(strictly monotonic, monotonic but for steps back of less than `tolerance` times,
    the ends `changing` times apart or more) for the centroids along a line. Between two
    hits of about the same brightness (a kick and a tom) a strict order is a coin toss."""
    lc = np.log(np.maximum(np.asarray(centroids, np.float64), 1e-9))
    d = np.diff(lc)
    strict = bool(np.all(d >= 0) or np.all(d <= 0))
    way = 1.0 if lc[-1] >= lc[0] else -1.0
    return strict, bool(np.all(way * d > -np.log(tolerance))), \
        bool(abs(lc[-1] - lc[0]) >= np.log(changing))


def page_seconds(run: Path, tries: int = 4) -> list[float]:
    """Seconds from a click on the web page's map to one hit ready (the server's API, its
    model warm after the first request), for `tries` clicks."""
    import threading
    import urllib.request

    from audiornn.web.server import App, serve

    app = App([run])
    httpd = serve(app, "127.0.0.1", 0)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base, out = f"http://127.0.0.1:{httpd.server_address[1]}", []
    try:
        for k in range(tries):
            t0 = time.perf_counter()
            req = urllib.request.Request(f"{base}/api/runs/{run.name}/jobs?at=0.1%2C-0.1&count=1"
                                         f"&seed={k}", data=b"", method="POST")
            job = json.loads(urllib.request.urlopen(req, timeout=120).read())
            while job.get("state") not in ("done", "error"):
                time.sleep(0.01)
                job = json.loads(urllib.request.urlopen(f"{base}/api/jobs/{job['id']}").read())
            out.append(time.perf_counter() - t0)
    finally:
        httpd.shutdown()
        app.close()
    return out


def bench(kit: str, work: Path, minutes: float, hits: int, pca_map: bool = False) -> dict:
    d = work / kit
    folder = d / "classes"
    counts = classes(KITS / kit, folder)
    if not (d / "ds" / "dataset.json").exists():
        sh("data", "--oneshot", str(folder), "--out", str(d / "ds"), "--length", "0.5", "-q")
    run = d / "run"
    t0 = time.perf_counter()
    if not (run / "model.keras").exists():
        py = [sys.executable, str(Path(__file__).parent / "pca_map_train.py")] if pca_map else PY
        sh("train", str(d / "ds"), "--run", str(run), "--max-minutes", f"{minutes:g}",
           "--epochs", "10000", "-q", py=py)
    train_min = (time.perf_counter() - t0) / 60
    sh("eval", str(run), "--hits", str(hits), "-q")
    e = json.loads((run / "eval.json").read_text())
    held = e["heldout"][0]
    shots = {k: v for k, v in e["oneshots"].items() if isinstance(v, dict) and "real_hits" in v}
    like = like_trials(run, d / "ds", d, per_hit=3)
    lines = map_lines(run, d)
    lines_seed = map_lines(run, d, same_seed=True)
    lines_median = map_lines(run, d, per_point=8)
    lines_nearest = map_lines(run, d, per_point=8, blend=False)
    page = page_seconds(run)
    meta = json.loads((d / "ds" / "dataset.json").read_text())
    return {"classes": counts, "rate": meta["sample_rate"], "train_minutes": train_min,
            "bits": held["model"]["bits"], "lpc_bits": held["lpc"]["bits"],
            "second_onsets_real": float(np.mean([v["second_onsets_real"] for v in shots.values()])),
            "second_onsets_model": float(np.mean([v["second_onsets"] for v in shots.values()])),
            "second_onsets_gated": float(np.mean([v["second_onsets_gated"] for v in shots.values()])),
            "centroids": {k: (v["centroid_hz_real"], v["centroid_hz_generated"])
                          for k, v in shots.items()},
            "like_beats_random": like["like_beats_random"], "like_trials": like["trials"],
            "lines_monotonic": lines["monotonic"], "lines": lines["lines"],
            "lines_monotonic_same_seed": lines_seed["monotonic"],
            "lines_monotonic_median8": lines_median["monotonic"], "lines_median8": lines_median,
            "lines_median8_nearest_label": lines_nearest,
            "page_first_s": page[0], "page_warm_s": float(np.median(page[1:]))}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kits", nargs="+", default=["BJA_Pacific", "ElectricEmpireKit"])
    p.add_argument("--minutes", type=float, default=10.0, help="training budget per kit")
    p.add_argument("--hits", type=int, default=4, help="generated hits per class in eval")
    p.add_argument("--work", default="/tmp/bench-kits")
    p.add_argument("--pca-map", action="store_true",
                   help="the baseline: the map started from the hits' features alone")
    a = p.parse_args()
    install()
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    print(f"machine: {platform.machine()}, {os.cpu_count()} logical CPUs; work folder {work}")
    rows = {kit: bench(kit, work, a.minutes, a.hits, a.pca_map) for kit in a.kits}
    (work / "bench_kits.json").write_text(json.dumps(rows, indent=1))
    print(f"\nreal kits, {a.minutes:g} CPU-minutes of `train` (one-shot defaults) each")
    print(f"{'kit':<16}{'rate':>7}{'bits':>7}{'LPC':>7}{'2nd onsets real/model/gated':>30}"
          f"{'--like':>8}{'lines monotonic':>17}{'(one seed)':>12}{'(median of 8)':>15}")
    for kit, r in rows.items():
        print(f"{kit:<16}{r['rate']:>7}{r['bits']:>7.2f}{r['lpc_bits']:>7.2f}"
              f"{r['second_onsets_real']:>14.0%} / {r['second_onsets_model']:.0%} / "
              f"{r['second_onsets_gated']:.0%}{r['like_beats_random']:>8.0%}"
              f"{r['lines_monotonic'] or 0:>17.0%}{r['lines_monotonic_same_seed'] or 0:>12.0%}"
              f"{r['lines_monotonic_median8'] or 0:>15.0%}")
        for how, m in (("labels blended", r["lines_median8"]),
                       ("the nearest hit's label", r["lines_median8_nearest_label"])):
            print(f"  map lines, the median of 8 hits a point, {how}: strictly monotonic "
                  f"{m['monotonic'] or 0:.0%}, within 10% {m['monotonic_10pct'] or 0:.0%}; the "
                  f"{m['changing']} lines whose ends are 2x apart or more: "
                  f"{m['changing_monotonic'] or 0:.0%} strictly monotonic")
        print(f"  one hit from the web page: {r['page_warm_s']:.2f} s once warm "
              f"(the first: {r['page_first_s']:.1f} s)")
        print("  centroid Hz real / generated: " + ", ".join(
            f"{k} {a_:.0f}/{b:.0f}" for k, (a_, b) in r["centroids"].items()))


if __name__ == "__main__":
    main()
