"""The one-shot job's dataset: a folder of hits, each mono, resampled, peak-aligned and cut
to a fixed length, labelled by its folder."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from audiornn import dsp
from audiornn.data import audio
from audiornn.data.build import (
    MIN_CODES,
    SILENCE_PEAK,
    DataConfig,
    Item,
    ProgressFn,
    attach_conditions,
    build,
    check_out,
    clean_stale,
    collect_files,
    fail_or_skip,
)
from audiornn.errors import AudioRNNError


def build_oneshots(folder: str | os.PathLike, out_dir: str | os.PathLike, config: DataConfig, *,
                   attack: float = 0.1, length: float = 0.4, label: str | None = None,
                   fade: float = 0.01, align: str = "peak", hit_level: str = "off",
                   envelope: bool = False,
                   progress: ProgressFn | None = None, conditions: str | None = None,
                   **kwargs) -> dict:
    """Builds a one-shot dataset: every hit mono, resampled, aligned and of fixed length.

    The hit's mark (`align`: "peak", its sample of largest magnitude, or "onset", its first
    sample within 40 dB of that: dsp.hit_mark) lands exactly at `attack` seconds (the
    start is trimmed or padded with silence), then the hit is cut or
    zero-padded to `length` seconds, with a `fade`-second fade-out where it is
    cut. `hit_level` "peak" brings every hit's peak to -1 dBFS (dsp.PEAK_TARGET), as
    sample packs are; "off" keeps the files' levels. `envelope`: each hit's level at
    every step (dsp.envelope_values) is kept as the per-step condition "envelope", and the
    hit itself divided by it (dsp.envelope_gain): the codes hold its shape at an even level
    (`read_hit` puts the level back).
    Labels are the files' immediate folder names, or `label` for all.
    Each hit is one segment; the split keeps every label with 2+ hits in both
    train and validation.
    """
    import tempfile

    import soundfile as sf

    config.validate()
    folder = Path(folder)
    if not folder.is_dir():
        raise AudioRNNError(f"{folder}: not a folder (--oneshot takes a folder of hits)")
    rate = config.sample_rate
    a, n = int(round(attack * rate)), int(round(length * rate))
    if not length > 0 or n < MIN_CODES:
        raise AudioRNNError(f"--length must be > 0 s, got {length}")
    if not 0 <= a < n:
        raise AudioRNNError(f"--attack must be in [0, --length), got {attack} (length {length})")
    files, ignored = collect_files([folder])
    if not files:
        raise AudioRNNError(f"{folder}: no audio files found")
    skipped: list[dict] = []
    items: list[Item] = []
    check_out(Path(out_dir), kwargs.get("overwrite", False))
    clean_stale(Path(out_dir), ("oneshots-",))
    with tempfile.TemporaryDirectory(prefix=f".{Path(out_dir).name}.oneshots-",
                                     dir=Path(out_dir).parent) as tmp:
        for k, f in enumerate(files):
            try:
                x, r = audio.read(f)
                if not len(x) or float(np.max(np.abs(x))) < SILENCE_PEAK:
                    raise audio.BadAudioFile(f, "all silent (peak below -80 dBFS)")
                y = dsp.fix_length(dsp.align_hit(dsp.resample(x, r, rate), a, align), n,
                                   int(round(fade * rate)))
                y = y * dsp.output_gain(float(np.max(np.abs(y))), hit_level)
                env = None
                if envelope:  # the model learns the hit's shape; its level is a stream
                    hop = dsp.envelope_hop(rate)
                    env = dsp.envelope_values(dsp.envelope_db(y, hop), hop, n)
                    y = y / dsp.envelope_gain(env)
                path = Path(tmp) / f"{k:06d}.wav"
                sf.write(path, y, rate, subtype="DOUBLE")
                item = Item(streams={"target": str(path)}, name=str(f), label=label or f.parent.name)
                if envelope:
                    item.step_values["envelope"] = env[:, None]
                items.append(item)
            except audio.BadAudioFile as e:
                fail_or_skip(e, config, skipped)
            if progress:
                progress("align", (k + 1) * length, k + 1)
        if not items:
            reasons = "; ".join(f"{Path(s['source']).name}: {s['reason']}" for s in skipped[:3])
            raise AudioRNNError(f"{folder}: no usable hit" + (f" ({reasons})" if reasons else ""))
        attach_conditions(items, conditions)
        meta = {"oneshot": {"attack": attack, "length": length, "attack_samples": a,
                            "length_samples": n, "fade": fade, "align": align,
                            "hit_level": hit_level, "envelope": bool(envelope)}}
        return build(items, out_dir, config, job="oneshot", extra_meta=meta, ignored=ignored, skipped=skipped,
                     progress=progress, **kwargs)


def read_hit(dataset, seg) -> np.ndarray:
    """A dataset hit's samples as they sound: decoded, its level put back where the
    dataset holds the hit's shape (data --envelope on)."""
    x = dataset.codec.decode(np.asarray(dataset.streams["target"][seg.offset:seg.offset + seg.length]))[0]
    if dataset.meta.get("oneshot", {}).get("envelope"):
        x = x * dsp.envelope_gain(dataset.step_values["envelope"][seg.offset:seg.offset + seg.length, 0])
    return x
