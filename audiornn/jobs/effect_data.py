"""The effect job's dataset: dry/wet pairs checked, aligned (their latency estimated or given)
and built into aligned `input` (dry) and `target` (wet) code streams; a recorded capture
signal gets its own checks and its fixed validation piece."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from audiornn import dsp
from audiornn.data import audio, capture
from audiornn.data.build import (
    MIN_CODES,
    DataConfig,
    Item,
    ProgressFn,
    attach_conditions,
    build,
    collect_files,
    scan_stream,
)
from audiornn.data.codec import processed_blocks
from audiornn.errors import AudioRNNError

log = logging.getLogger("audiornn.data")

#: A wet file whose best normalized cross-correlation with its dry file is below
#: this is not a recording of that dry file through an effect.
MIN_PAIR_CORRELATION = 0.1


def match_dirs(dry_dir: str | os.PathLike, wet_dir: str | os.PathLike) -> list[tuple[Path, Path]]:
    """Pairs the audio files of two folders by their path relative to the folder."""
    dry_dir, wet_dir = Path(dry_dir), Path(wet_dir)
    for d in (dry_dir, wet_dir):
        if not d.is_dir():
            raise AudioRNNError(f"{d}: not a folder")
    dry = {f.relative_to(dry_dir).with_suffix(""): f for f in collect_files([dry_dir])[0]}
    wet = {f.relative_to(wet_dir).with_suffix(""): f for f in collect_files([wet_dir])[0]}
    if not dry:
        raise AudioRNNError(f"{dry_dir}: no audio files")
    missing = sorted(set(dry) ^ set(wet))
    if missing:
        side = wet_dir if missing[0] in dry else dry_dir
        raise AudioRNNError(f"{missing[0]}: has no partner in {side} "
                            f"({len(missing)} unmatched file(s); names must match)")
    return [(dry[k], wet[k]) for k in sorted(dry)]


def _probe(path: str, config: DataConfig, n: int) -> np.ndarray:
    """The first n processed samples of a file (for the latency estimate)."""
    out, have = [], 0
    for y in processed_blocks(path, config.sample_rate, config.preemphasis):
        out.append(y)
        have += len(y)
        if have >= n:
            break
    return np.concatenate(out)[:n] if out else np.zeros(0)


def pair_item(dry: str | os.PathLike, wet: str | os.PathLike, config: DataConfig,
              latency: int | None = None, max_latency_s: float = 0.5,
              probe_s: float = 30.0, length_tolerance_s: float = 0.05) -> Item:
    """Checks a dry/wet pair, estimates (or takes) its latency, and returns its aligned item.

    Raises AudioRNNError naming the pair for: unreadable or silent files,
    channel counts that cannot be matched, wet not correlated with dry, or
    lengths that differ by more than the latency (+ `length_tolerance_s`).
    """
    dry, wet = str(dry), str(wet)
    name = f"pair {Path(dry).name} -> {Path(wet).name}"
    try:
        i_dry, i_wet = audio.info(dry), audio.info(wet)
        if i_dry.channels != i_wet.channels and min(i_dry.channels, i_wet.channels) > 1:
            raise AudioRNNError(f"{name}: {i_dry.channels} dry channels cannot be matched with "
                                f"{i_wet.channels} wet channels (give both mono, or the same count)")
        n_dry, peak_dry, _ = scan_stream(dry, config)
        n_wet, peak_wet, _ = scan_stream(wet, config)
    except audio.BadAudioFile as e:
        which = "wet" if e.path == wet else "dry"
        raise AudioRNNError(f"{name}: {which} file {e.path}: {e.reason}") from None
    rate = config.sample_rate
    probe = int(probe_s * rate)
    d, w = _probe(dry, config, probe), _probe(wet, config, probe)
    est, corr = dsp.estimate_latency(d, w, int(max_latency_s * rate))
    is_capture = capture.recognize(d, rate)
    if is_capture:  # the blips' echo gives the latency to the sample
        est = capture.latency(d, w, rate, int(max_latency_s * rate))
    clipped = audio.clipped_fraction(wet)
    if clipped > 0.001:
        what = (f"the wet file {wet} is clipped: {clipped:.1%} of its samples sit at full scale; "
                "record the gear's output lower")
        if corr < MIN_PAIR_CORRELATION:
            raise AudioRNNError(f"{name}: {what}")
        log.warning("%s: %s (the model would learn the clipping)", name, what)
    if corr < MIN_PAIR_CORRELATION:
        raise AudioRNNError(f"{name}: the wet file does not follow the dry one (best correlation "
                            f"{corr:.3f} within +-{max_latency_s:g} s; a pair is the same "
                            "performance through the effect)")
    lag = est if latency is None else int(latency)
    if abs(n_wet - n_dry) > abs(lag) + length_tolerance_s * rate:
        raise AudioRNNError(f"{name}: lengths differ by {abs(n_wet - n_dry) / rate:.3f} s "
                            f"(dry {n_dry / rate:.3f} s, wet {n_wet / rate:.3f} s), more than "
                            f"the latency ({lag} samples) allows")
    trim = {"input": max(0, -lag), "target": max(0, lag)}
    n = min(n_dry - trim["input"], n_wet - trim["target"])
    if n < MIN_CODES:
        raise AudioRNNError(f"{name}: nothing left after removing the latency of {lag} samples")
    extra, splits = {}, []
    if is_capture:
        extra, splits = _capture_checks(name, dry, wet, config, lag, trim, n_dry, n)
    log.info("%s: latency %+d samples (%+.2f ms)%s, correlation %.2f", name, lag,
             1000 * lag / rate, "" if latency is None else f" (given; estimated {est:+d})", corr)
    return Item(streams={"input": dry, "target": wet}, name=name,
                lengths={"input": n, "target": n}, peaks={"input": peak_dry, "target": peak_wet},
                source_rate=i_dry.sample_rate_hz, channels=i_dry.channels,
                seconds=max(i_dry.seconds, i_wet.seconds), trim=trim, splits=splits,
                extra={"latency": lag, "latency_estimated": est, "correlation": corr, **extra})


def _capture_checks(name: str, dry: str, wet: str, config: DataConfig, lag: int,
                    trim: dict, n_dry: int, n: int) -> tuple[dict, list]:
    """A recorded capture signal: the replicate ESR, and its fixed train/validation pieces.

    Validation segment B is the validation split; segment A (the same audio)
    is left out of training, so nothing of the validation audio is trained on.
    """
    from audiornn import metrics

    lay = capture.Sections(config.sample_rate, n_dry)
    w = _probe(wet, config, n_dry + abs(lag))
    (a0, a1), (b0, b1) = lay.val_a, lay.val_b
    rec_a, rec_b = w[a0 + lag:a1 + lag], w[b0 + lag:b1 + lag]
    if len(rec_b) < b1 - b0 or a0 + lag < 0:
        raise AudioRNNError(f"{name}: the recording stops before the capture signal ends "
                            f"(record all of {Path(dry).name}, {n_dry / config.sample_rate:.1f} s)")
    replicate = metrics.esr(rec_a, rec_b)
    if replicate > capture.REPLICATE_WARN:
        log.warning("%s: the two recordings of the validation segment differ (replicate ESR "
                    "%.2f%%, above %.0f%%): noise or hum in the recording, a time-varying effect "
                    "(modulation, a gate, a compressor's release), or not one take of the whole "
                    "file", name, 100 * replicate, 100 * capture.REPLICATE_WARN)
    else:
        log.info("%s: capture signal recognized; replicate ESR %.3f%%", name, 100 * replicate)
    late = capture.late_energy(w, config.sample_rate, lag)
    if late > capture.RING_WARN:
        log.warning("%s: the gear rings: %.0f%% of its response to a click arrives more than "
                    "%.1f s later (a cabinet, a room or a reverb), longer than the network "
                    "remembers; train with --ir 1.5 to add an impulse response after it",
                    name, 100 * late, capture.RING_AFTER_S)
    shift = trim["input"]
    cuts = [(0, a0, "train"), (a1, b0, "train"), (b0, b1, "val"), (b1, n_dry, "train")]
    splits = []
    for start, end, split in cuts:
        start, end = max(0, start - shift), min(n, end - shift)
        if end - start >= MIN_CODES:
            splits.append((split, start, end - start))
    return {"capture": True, "replicate_esr": replicate, "late_energy": late}, splits


def _one_latency(items: list, pairs, config: DataConfig) -> list:
    """Knob pairs are one rig at several settings, so one latency: each pair whose estimate
    differs from the median is realigned to it, with a warning that names it (at high gain
    the clipped blips peak late, and a model would learn misaligned targets)."""
    lags = [it.extra["latency"] for it in items]
    median = int(np.median(lags))
    out = []
    for it, (dry, wet), lag in zip(items, pairs, lags):
        if lag != median:
            log.warning("%s: latency %+d samples, the pairs' median is %+d; aligned to %+d (one "
                        "rig, one latency; give --latency N to set it yourself)", it.name, lag,
                        median, median)
            it = pair_item(dry, wet, config, median)
        out.append(it)
    return out


def build_pairs(pairs: Sequence[tuple[str, str]], out_dir: str | os.PathLike, config: DataConfig,
                *, latency: int | None = None, progress: ProgressFn | None = None,
                conditions: str | None = None, knobs: list[dict] | None = None,
                **kwargs) -> dict:
    """Builds an effect dataset: aligned `input` (dry) and `target` (wet) code streams.

    knobs: per pair, its knob settings ({name: [value]}, from --knob): they
    become per-sequence conditions, like a --conditions CSV's.
    """
    if not pairs:
        raise AudioRNNError("no dry/wet pairs given")
    knobs = [k for k in (knobs or []) if k is not None]
    if any(knobs):
        if conditions:
            raise AudioRNNError("give knob settings either with --knob or in a --conditions CSV")
        if len(knobs) != len(pairs) or not all(knobs):
            missing = next(i for i in range(len(pairs)) if i >= len(knobs) or not knobs[i])
            raise AudioRNNError(f"pair {Path(pairs[missing][0]).name} -> "
                                f"{Path(pairs[missing][1]).name}: no --knob settings (give every "
                                "pair its settings)")
    items = []
    for dry, wet in pairs:
        for f in (dry, wet):
            if not Path(f).is_file():
                raise AudioRNNError(f"pair {Path(dry).name} -> {Path(wet).name}: {f}: no such file")
        items.append(pair_item(dry, wet, config, latency))
    if latency is None and len(items) > 1 and (any(knobs) or conditions):
        items = _one_latency(items, pairs, config)
    attach_conditions(items, conditions)
    for it, k in zip(items, knobs if any(knobs) else []):
        it.values = dict(k)
    return build(items, out_dir, config, progress=progress, job="effect", **kwargs)
