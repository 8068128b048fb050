"""Levels of generated audio (not a test): peaks and rumble, before and after the output stage.

  python scripts/bench_levels.py RUN [--seconds 8] [--num 8] [--temperature 1]

Side by side on the same sampled codes (one run of the sampler): the decoded
audio as the writer made it before this round (de-emphasis only) and as it
makes it now (de-emphasis, the 30 Hz high-pass, then the default headroom
policy), against the run's real held-out audio: the peak (dBFS), the share
of files that would clip in a 16-bit file, the RMS level, and the level
below 40 Hz.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from scipy import signal  # noqa: E402

from audiornn import dsp, jobs, metrics  # noqa: E402
from audiornn.data import open_dataset  # noqa: E402
from audiornn.runtime.sampler import Generator  # noqa: E402
from audiornn.runtime.scoring import dataset_sequences  # noqa: E402


def db(v: float) -> float:
    return float(20 * np.log10(max(v, 1e-12)))


def row(name: str, clips: list[np.ndarray], rate: int) -> str:
    peaks = [np.max(np.abs(x)) for x in clips]
    rms = [np.sqrt(np.mean(x**2)) for x in clips]
    low = [metrics.low_band_dbfs(x, rate) for x in clips]
    clip = np.mean([p > 1.0 for p in peaks])
    return (f"{name:<34}{db(max(peaks)):>+10.1f}{clip:>10.0%}{db(float(np.median(rms))):>10.1f}"
            f"{float(np.median(low)):>14.1f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run")
    p.add_argument("--seconds", type=float, default=8.0)
    p.add_argument("--num", type=int, default=8)
    p.add_argument("--temperature", type=float, default=None)
    a = p.parse_args()
    gen = Generator.from_run(a.run)
    codec, rate = gen.codec, gen.sample_rate
    temperature = jobs.get(gen.config.job.name).temperature if a.temperature is None else a.temperature
    n = int(a.seconds * rate)
    codes = np.concatenate(list(gen.sample(n, a.num, temperature, seed=0)), axis=1)
    before = [codec.decode_values(dsp.mu_law_decode(c), "target")[0] for c in codes]
    sos = dsp.subsonic_sos(rate) if codec.preemphasis > 0 else None
    filtered = [signal.sosfilt(sos, x) if sos is not None else x for x in before]
    after = [x * dsp.output_gain(np.max(np.abs(x))) for x in filtered]
    ds = open_dataset(gen.config.dataset["path"])
    held = np.concatenate([codec.decode(s["target"])[0]
                           for s in dataset_sequences(ds, "val", n * a.num, 0)])
    real = [held[k:k + n] for k in range(0, len(held) - n + 1, n)] or [held]
    print(f"{Path(a.run).name}: {a.num} files of {a.seconds:g} s at {rate} Hz, temperature "
          f"{temperature:g}, the same codes before and after")
    print(f"{'audio':<34}{'peak dBFS':>10}{'clipping':>10}{'RMS dBFS':>10}{'< 40 Hz dBFS':>14}")
    print(row("generated, before (de-emphasis)", before, rate))
    print(row("generated, after (+ 30 Hz, headroom)", after, rate))
    print(row("real held-out audio", real, rate))


if __name__ == "__main__":
    sys.exit(main())
