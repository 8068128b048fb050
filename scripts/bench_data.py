"""Benchmark of the data pipeline (not a test). Prints every figure beside its baseline.

  python scripts/bench_data.py [--minutes 10 60] [--workdir DIR]

Figures:
  * build speed as a multiple of real time, on synthesized 44.1 kHz stereo files;
  * peak RSS of building each corpus size, each in a fresh process;
  * bytes on disk per audio second (per stream);
  * PyDataset windows per second at T = 1024, batch 32;
  * the memory the original design needs (every 1000-sample window materialized as
    float32), computed, and checked against a small case that is really materialized.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

FILE_MINUTES = 5.0
RATE = 44100


def synth_corpus(folder: Path, minutes: float, seed: int = 0) -> float:
    """Writes `minutes` of 44.1 kHz stereo PCM-16 music-like audio in 5-minute files."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n_files = int(np.ceil(minutes / FILE_MINUTES))
    block = RATE * 10
    t = np.arange(block) / RATE
    total = 0.0
    for k in range(n_files):
        seconds = min(FILE_MINUTES, minutes - k * FILE_MINUTES) * 60
        with sf.SoundFile(folder / f"f{k:03d}.wav", "w", RATE, 2, "PCM_16") as f:
            for _ in range(int(seconds // 10)):
                freq = rng.uniform(80, 800)
                x = 0.3 * np.sin(2 * np.pi * freq * t) * np.exp(-t * rng.uniform(0.1, 2))
                x = x + 0.05 * rng.standard_normal(block)
                f.write(np.stack([x, 0.8 * x + 0.02 * rng.standard_normal(block)], axis=1))
        total += seconds
    return total


def child_build(src: str, out: str) -> None:
    from audiornn import data as dataset
    from audiornn.jobs.generate import build_from_sources  # noqa: E402

    t0 = time.perf_counter()
    meta = build_from_sources([src], out, dataset.DataConfig())
    dt = time.perf_counter() - t0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": dt, "rss_mb": rss_mb, "n_codes": meta["n_codes"]}))


def build_in_child(src: Path, out: Path) -> dict:
    r = subprocess.run([sys.executable, __file__, "--child", str(src), str(out)],
                       capture_output=True, text=True, check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


def windows_per_second(ds_path: Path, n_batches: int = 300) -> float:
    from audiornn import data as dataset
    from audiornn.data.windows import WindowSequence

    ds = dataset.open_dataset(ds_path)
    seq = WindowSequence(ds, "train", window=1024, burn_in=64, batch_size=32, seed=0,
                         steps=n_batches)
    seq[0]
    t0 = time.perf_counter()
    for i in range(n_batches):
        seq[i]
    return n_batches * 32 / (time.perf_counter() - t0)


def original_bytes(n_samples: int, context: int = 1000, itemsize: int = 4) -> int:
    """Bytes of the original design's input: one float32 window of `context` per sample."""
    return max(0, n_samples - context) * context * itemsize


def measured_original(n_samples: int, context: int = 1000) -> int:
    """Really materializes the windows the way the original did, and returns nbytes."""
    x = np.random.default_rng(0).uniform(-1, 1, n_samples).astype(np.float32)
    windows = np.array([x[i:i + context] for i in range(n_samples - context)], dtype=np.float32)
    return windows.nbytes


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child_build(sys.argv[2], sys.argv[3])
        return
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, nargs="+", default=[10.0, 60.0])
    p.add_argument("--workdir", default=None)
    args = p.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="audiornn-bench-"))
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    results = {}
    try:
        for minutes in args.minutes:
            src = work / f"src{minutes:g}"
            audio_s = synth_corpus(src, minutes)
            r = build_in_child(src, work / f"ds{minutes:g}")
            size = (work / f"ds{minutes:g}" / "target.npy").stat().st_size
            results[minutes] = dict(r, audio_s=audio_s, bytes=size)
            print(f"build {minutes:g} min of 44.1 kHz stereo: {r['seconds']:.1f} s = "
                  f"{audio_s / r['seconds']:.0f}x real time (baseline: 1x); "
                  f"peak RSS {r['rss_mb']:.0f} MB; "
                  f"{size / audio_s:.0f} bytes/audio-second = "
                  f"{size / r['n_codes']:.3f} bytes/sample/stream")
            shutil.rmtree(src)
        if len(results) >= 2:
            small, large = min(results), max(results)
            ratio = results[large]["rss_mb"] / results[small]["rss_mb"]
            print(f"peak RSS {large:g} min / {small:g} min: {ratio:.2f}x "
                  f"({results[large]['rss_mb']:.0f} MB vs {results[small]['rss_mb']:.0f} MB; "
                  f"the audio is {large / small:.0f}x longer)")
        largest = max(results)
        wps = windows_per_second(work / f"ds{largest:g}")
        print(f"PyDataset windows (T=1024, batch 32): {wps:,.0f} windows/s "
              f"= {wps * 1024 / 1e6:.1f} M samples/s; a model at 10k scored samples/s needs "
              f"{1e4 / 1024:.0f} windows/s")
        n_small = 20000
        measured = measured_original(n_small)
        computed = original_bytes(n_small)
        print(f"original design check at {n_small} samples: measured {measured:,} bytes, "
              f"formula {computed:,} bytes ({measured / computed:.3f}x)")
        for minutes in (10, 60):
            n = int(minutes * 60 * 16000)
            orig = original_bytes(n)
            ours = n  # one uint8 code per sample, memory-mapped
            print(f"{minutes} min at 16 kHz: original windows {orig / 2**30:,.1f} GiB vs "
                  f"this dataset {ours / 2**20:,.1f} MiB on disk (not RAM): "
                  f"{orig / ours:,.0f}x smaller")
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
