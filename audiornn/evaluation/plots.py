"""The pictures: training curves, spectrograms, spectra, effect waveforms, one-shot hits.

Every plot is written under a temporary name and renamed into place.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from audiornn import metrics
from audiornn.files import atomic_path
from audiornn.metrics import LN2


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> str:
    with atomic_path(path, ".png") as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight")
    _plt().close(fig)
    return str(path)


def plot_curves(hist: dict[str, np.ndarray], path: Path, model_config=None) -> dict:
    """Bits per sample and accuracy per epoch (train and validation), best epoch marked;
    for a regression (effect) run, its ESR instead (model_config: for the next step)."""
    if "esr" in hist or "val_esr" in hist:
        return _plot_esr_curves(hist, path, model_config)
    plt = _plt()
    epochs = hist.get("epoch", np.arange(len(next(iter(hist.values())))))
    epochs = epochs.astype(int) + 1  # CSVLogger counts from 0; people count from 1
    bits = hist.get("bits", hist["loss"] / LN2 if "loss" in hist else None)
    val_bits = hist.get("val_bits", hist["val_loss"] / LN2 if "val_loss" in hist else None)
    monitor = val_bits if val_bits is not None and np.any(np.isfinite(val_bits)) else bits
    best = int(np.nanargmin(monitor))
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.6))
    if bits is not None:
        a1.plot(epochs, bits, "o-", label="training")
    if val_bits is not None:
        a1.plot(epochs, val_bits, "o-", label="validation")
    a1.axvline(epochs[best], color="0.5", ls="--", lw=1)
    a1.plot(epochs[best], monitor[best], "k*", ms=12, label=f"best (epoch {epochs[best]})")
    a1.set(xlabel="epoch", ylabel="bits per sample (8 = uniform guess)", title="loss")
    a1.legend()
    if "accuracy" in hist:
        a2.plot(epochs, hist["accuracy"], "o-", label="training")
    if "val_accuracy" in hist:
        a2.plot(epochs, hist["val_accuracy"], "o-", label="validation")
    a2.axvline(epochs[best], color="0.5", ls="--", lw=1)
    a2.set(xlabel="epoch", ylabel="top-1 accuracy", title="accuracy")
    a2.legend()
    from matplotlib.ticker import MaxNLocator

    for a in (a1, a2):
        a.grid(alpha=0.3)
        a.xaxis.set_major_locator(MaxNLocator(integer=True))
    _save(fig, path)
    out = {"epochs": len(epochs), "best_epoch": int(epochs[best]),
           "best_bits": float(monitor[best]), "monitor": "val_bits" if monitor is val_bits else "bits"}
    for key in ("bits", "accuracy", "val_bits", "val_accuracy"):
        if key in hist:
            out[f"last_{key}"] = float(hist[key][-1])
    return out


def _plot_esr_curves(hist: dict[str, np.ndarray], path: Path, model_config=None) -> dict:
    """An effect run's ESR per epoch (log scale), best epoch marked, NAM's bands drawn."""
    plt = _plt()
    epochs = hist.get("epoch", np.arange(len(next(iter(hist.values())))))
    epochs = epochs.astype(int) + 1
    esr, val = hist.get("esr"), hist.get("val_esr")
    monitor = val if val is not None and np.any(np.isfinite(val)) else esr
    best = int(np.nanargmin(monitor))
    fig, ax = plt.subplots(figsize=(7, 3.6))
    for values, label in ((esr, "training"), (val, "validation")):
        if values is not None:
            ax.plot(epochs, 100 * values, "o-", label=label)
    ax.plot(epochs[best], 100 * monitor[best], "k*", ms=12, label=f"best (epoch {epochs[best]})")
    for level, name in ((1, "great"), (3.5, "not bad"), (10, "poor above")):
        ax.axhline(level, color="0.6", ls=":", lw=1)
        ax.text(epochs[0], level, f" {name} ({level:g}%)", va="bottom", fontsize=8, color="0.4")
    ax.set(xlabel="epoch", ylabel="ESR, % (lower is better)", yscale="log", title="error-to-signal ratio")
    ax.legend()
    ax.grid(alpha=0.3, which="both")
    _save(fig, path)
    from audiornn.evaluation.report import next_step

    minutes = hist.get("minutes")
    return {"epochs": len(epochs), "best_epoch": int(epochs[best]), "best_esr": float(monitor[best]),
            "monitor": "val_esr" if monitor is val else "esr",
            "next_step": next_step(monitor, None if minutes is None else list(minutes),
                                   model_config)}


def plot_spectrograms(clips: dict[str, np.ndarray], rate: int, path: Path) -> str:
    plt = _plt()
    fig, axes = plt.subplots(1, len(clips), figsize=(5 * len(clips), 3.6), squeeze=False)
    for ax, (name, x) in zip(axes[0], clips.items()):
        nfft = 512 if len(x) >= 512 else max(16, 2 ** int(math.log2(max(len(x), 16))))
        ax.specgram(x + 1e-9, NFFT=nfft, Fs=rate, noverlap=nfft // 2, cmap="magma", vmin=-140)
        ax.set(title=name, xlabel="seconds", ylabel="Hz")
    return _save(fig, path)


def plot_effect(target: np.ndarray, output: np.ndarray, dry: np.ndarray, rate: int,
                path: Path, ms: float = 20.0) -> str:
    """A short stretch of target and output waveforms (at the target's loudest point), and spectra."""
    plt = _plt()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 3.6))
    n = max(8, int(ms / 1000 * rate))
    c = int(np.argmax(np.abs(target)))
    a = max(0, min(c - n // 2, len(target) - n))
    t = np.arange(n) / rate * 1000  # from the stretch's start, so the ticks stay readable
    a1.plot(t, target[a:a + n], label="target (wet)", lw=2)
    a1.plot(t, output[a:a + n], label="model output", lw=1.2)
    a1.plot(t, dry[a:a + n], label="input (dry)", lw=0.8, color="0.6")
    a1.set(xlabel=f"ms after {a / rate:.2f} s", ylabel="amplitude", title="waveforms")
    a1.legend(fontsize=8)
    for name, x in (("target (wet)", target), ("model output", output), ("input (dry)", dry)):
        f, p = metrics.average_spectrum(x, rate)
        a2.semilogx(f[1:], 10 * np.log10(p[1:] + 1e-12), label=name)
    a2.set(xlabel="Hz", ylabel="dB", title="average spectra")
    a2.legend(fontsize=8)
    for ax in (a1, a2):
        ax.grid(alpha=0.3)
    return _save(fig, path)


def plot_hits(real: dict, fake: dict, rate: int, attack: int, path: Path, n: int = 3) -> str:
    """Rows: labels; columns: n real hits, then n generated hits, attack time marked."""
    plt = _plt()
    labels = list(real)
    fig, axes = plt.subplots(len(labels), 2 * n, figsize=(2.2 * 2 * n, 1.6 * len(labels)),
                             squeeze=False, sharey=True)
    for r, name in enumerate(labels):
        for c in range(2 * n):
            ax = axes[r][c]
            hits = real[name] if c < n else fake[name]
            k = c if c < n else c - n
            if k < len(hits):
                h = hits[k]
                ax.plot(np.arange(len(h)) / rate * 1000, h, lw=0.6,
                        color="C0" if c < n else "C3")
                ax.axvline(attack / rate * 1000, color="0.6", lw=0.8, ls="--")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_ylim(-1.05, 1.05)
            if r == 0:
                ax.set_title("real" if c < n else "generated", fontsize=9)
            if c == 0:
                ax.set_ylabel(name, fontsize=10)
    fig.suptitle("one-shots: real (blue) and generated (red); dashed: attack time", fontsize=10)
    return _save(fig, path)


def plot_hit_spectra(spectra: dict, path: Path) -> str:
    """Per label, the average spectra of real and generated hits ({label: {what: (f, p)}})."""
    plt = _plt()
    fig, axes = plt.subplots(1, len(spectra), figsize=(4 * len(spectra), 3.2), squeeze=False)
    for ax, (name, pair) in zip(axes[0], spectra.items()):
        for (what, (f, p)), color in zip(pair.items(), ("C0", "C3")):
            ax.semilogx(f[1:], 10 * np.log10(p[1:] + 1e-12), color=color, label=what)
        ax.set(title=name, xlabel="Hz", ylabel="dB")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    return _save(fig, path)


def plot_spectra(clips: dict[str, np.ndarray], rate: int, path: Path) -> str:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 3.6))
    for name, x in clips.items():
        f, p = metrics.average_spectrum(x, rate)
        ax.semilogx(f[1:], 10 * np.log10(p[1:] + 1e-12), label=name)
    ax.set(xlabel="Hz", ylabel="power spectral density (dB)", title="average spectra")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    return _save(fig, path)


def plot_levels(clips: dict[str, np.ndarray], rate: int, path: Path, frame: int = 1024) -> str:
    """Each clip's frame level (dBFS) over time: where generated audio falls silent."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 3.2))
    for name, x in clips.items():
        db = metrics.frame_rms_db(x, frame)
        ax.plot(np.arange(len(db)) * frame / rate, np.maximum(db, -100), label=name, lw=1)
    ax.axhline(-50, color="0.5", ls="--", lw=0.8, label="-50 dBFS (silence)")
    ax.set(xlabel="seconds", ylabel="frame level (dBFS)", title="level over time")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def waveform_png(wav: Path, png: Path) -> str:
    """A small waveform picture of a result (the web page's): a min/max envelope when long."""
    from audiornn.data import audio

    plt = _plt()
    x, rate = audio.read(wav)
    fig, ax = plt.subplots(figsize=(6, 1.4))
    step = max(1, len(x) // 4000)
    t = np.arange(0, len(x), step) / rate
    if step > 1:  # a min/max envelope keeps peaks visible
        n = len(x) // step * step
        frames = x[:n].reshape(-1, step)
        ax.fill_between(t[: len(frames)], frames.min(axis=1), frames.max(axis=1), lw=0,
                        color="#2a6fdb")
    else:
        ax.plot(t, x, lw=0.7, color="#2a6fdb")
    ax.set_xlim(0, max(len(x) / rate, 1e-3))
    ax.set_ylim(-1.05, 1.05)
    ax.set_yticks([])
    ax.tick_params(labelsize=7)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    return _save(fig, png)


def plot_map(hm, grid_points: np.ndarray, grid_hits: list[np.ndarray], path: Path) -> str:
    """The one-shots' map: a small waveform of the hit generated at each grid point (grey),
    and a dot per training hit coloured by label (the first two dimensions)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 6))
    n = int(round(np.sqrt(len(grid_points))))
    xs, ys = np.unique(grid_points[:, 0]), np.unique(grid_points[:, 1])
    w = (xs[-1] - xs[0]) / max(n - 1, 1) if len(xs) > 1 else 1.0
    h = (ys[-1] - ys[0]) / max(n - 1, 1) if len(ys) > 1 else 1.0
    for (gx, gy), hit in zip(grid_points[:, :2], grid_hits):
        hit = np.asarray(hit, np.float64)
        t = np.linspace(-0.45, 0.45, len(hit))
        ax.plot(gx + t * w, gy + 0.45 * h * hit / max(np.max(np.abs(hit)), 1e-9),
                color="0.55", lw=0.5, zorder=1)
    names = hm.label_names or ["hits"]
    for k, name in enumerate(names):
        sel = hm.labels == k if hm.label_names else np.ones(len(hm.points), bool)
        ax.scatter(hm.points[sel, 0], hm.points[sel, 1], s=28, color=f"C{k}", label=name,
                   edgecolor="k", lw=0.4, zorder=3)
    ax.set(xlabel="map x (it started as brightness: darker to the left)", ylabel="map y",
           title="the map of hits: training hits (dots); grey: a hit generated at each grid point")
    ax.title.set_fontsize(10)
    ax.legend(fontsize=8, loc="upper right")
    ax.grid(alpha=0.2)
    return _save(fig, path)
