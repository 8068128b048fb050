"""Build dataset directories: `dataset.json` plus one uint8 `.npy` per code stream.

Building streams every file twice, block by block, so memory does not grow
with the corpus: a scan pass checks each file and measures the peak of its
resampled, pre-emphasized signal (which sets the dataset's gain, so nothing is
clipped), and an encode pass writes mu-law codes straight into memory-mapped
`.npy` files. The directory is built under a temporary name and renamed into
place only when complete.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from audiornn import __version__, dsp
from audiornn.data import audio
from audiornn.data.codec import encoded_blocks, processed_blocks
from audiornn.data.store import FORMAT, FORMAT_VERSION, Segment
from audiornn.errors import AudioRNNError
from audiornn.files import write_json_atomic

log = logging.getLogger(__name__)

SILENCE_PEAK = 1e-4  # -80 dBFS: a file whose peak stays below this is "all silent"
MIN_CODES = 2


@dataclass(frozen=True)
class DataConfig:
    """Settings of a dataset build; the fields are the CLI's defaults."""

    sample_rate: int = 16000
    preemphasis: float = 0.95
    val_fraction: float = 0.1
    seed: int = 0
    strict: bool = False
    headroom: float = 0.99
    max_silence: float = 0.0  # seconds; 0 keeps silences as they are
    silence_db: float = -50.0

    def validate(self) -> None:
        if not 1000 <= self.sample_rate <= 384000:
            raise AudioRNNError(f"--sample-rate must be in [1000, 384000] Hz, got {self.sample_rate}")
        if not (0.0 <= self.max_silence < 1e6):
            raise AudioRNNError(f"--max-silence must be >= 0 seconds, got {self.max_silence}")
        if not 0.0 <= self.preemphasis < 1.0:
            raise AudioRNNError(f"--preemphasis must be in [0, 1), got {self.preemphasis}")
        if not 0.0 <= self.val_fraction < 1.0:
            raise AudioRNNError(f"--val-fraction must be in [0, 1), got {self.val_fraction}")


@dataclass
class Item:
    """One training example before encoding: a path per stream, and an optional label."""

    streams: dict[str, str]
    label: str | None = None
    name: str = ""
    lengths: dict[str, int] = field(default_factory=dict)
    peaks: dict[str, float] = field(default_factory=dict)
    source_rate: int = 0
    channels: int = 0
    seconds: float = 0.0
    trim: dict[str, int] = field(default_factory=dict)  # codes dropped at the start, per stream
    extra: dict = field(default_factory=dict)  # reported in dataset.json's sources
    values: dict = field(default_factory=dict)  # per-sequence conditions: name -> list of floats
    step_values: dict = field(default_factory=dict)  # per-step conditions: name -> (n, size) array
    splits: list = field(default_factory=list)  # fixed (split, start, length) pieces (captures)


# ---------------------------------------------------------------- file discovery


def collect_files(sources: Sequence[str | os.PathLike]) -> tuple[list[Path], int]:
    """Expands files and folders (recursively) into a sorted list of audio files.

    Files named directly are always tried; inside folders only files with an
    audio extension are taken. Returns (files, number of ignored non-audio files).
    """
    files: list[Path] = []
    ignored = 0
    for src in sources:
        p = Path(src)
        if not p.exists():
            raise AudioRNNError(f"{p}: no such file or folder")
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if f.is_file() and not f.name.startswith("."):
                    if f.suffix.lower().lstrip(".") in audio.AUDIO_EXTENSIONS:
                        files.append(f)
                    else:
                        ignored += 1
        else:
            files.append(p)
    seen, unique = set(), []
    for f in files:
        key = f.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(f)
    return unique, ignored


# ---------------------------------------------------------------- processing


def scan_stream(path: str, config: DataConfig,
                stats: dict | None = None) -> tuple[int, float, audio.AudioInfo]:
    """First pass over one file: (number of codes, peak after pre-emphasis, header).

    `stats`, if given, receives what processed_blocks measures (silence removed).
    """
    i = audio.info(path)
    n, peak = 0, 0.0
    stats = {} if stats is None else stats
    for y in processed_blocks(path, config.sample_rate, config.preemphasis, stats,
                              config.max_silence, config.silence_db):
        n += len(y)
        peak = max(peak, float(np.max(np.abs(y))))
    if n < MIN_CODES:
        raise audio.BadAudioFile(path, f"too short ({i.n_frames} frames)")
    if stats.get("raw_peak", 0.0) < SILENCE_PEAK or peak <= 0:
        raise audio.BadAudioFile(path, "all silent (peak below -80 dBFS)")
    return n, peak, i


# ---------------------------------------------------------------- splitting


def split_items(items: list[Item], val_fraction: float, seed: int) -> list[tuple[Item, str, int, int]]:
    """Assigns whole items to train/validation, per label.

    Returns (item, split, start, length) pieces. Where a group (one label, or
    the whole unlabeled corpus) has two or more items, whole items go to
    validation until `val_fraction` of its codes is reached (at least one item,
    and at least one left for training). A lone unlabeled item is split in two:
    its last `val_fraction` becomes validation; so is every item of an
    unlabeled corpus whose files are too few or too uneven for whole files to
    come within 1.5x of `val_fraction`.
    """
    rng = np.random.default_rng(seed)
    groups: dict[str | None, list[int]] = {}
    for k, it in enumerate(items):
        if not it.splits:
            groups.setdefault(it.label, []).append(k)
    val: set[int] = set()
    pieces: list[tuple[Item, str, int, int]] = []
    lone_split: dict[int, int] = {}
    for label, idx in groups.items():
        if val_fraction <= 0:
            continue
        if len(idx) >= 2:
            total = sum(items[k].lengths["target"] for k in idx)
            order = [idx[j] for j in rng.permutation(len(idx))]
            acc, chosen = 0, set()
            for k in order[:-1]:
                if acc >= val_fraction * total and chosen:
                    break
                chosen.add(k)
                acc += items[k].lengths["target"]
            if label is None and acc > 1.5 * val_fraction * total:  # few files: cut inside them
                lone_split.update(_tail_cuts(items, idx, val_fraction))
            else:
                val |= chosen
        elif label is None:
            lone_split.update(_tail_cuts(items, idx, val_fraction))
    for k, it in enumerate(items):
        n = it.lengths["target"]
        if it.splits:
            pieces += [(it, split, start, length) for split, start, length in it.splits]
        elif k in lone_split:
            cut = lone_split[k]
            pieces.append((it, "train", 0, cut))
            pieces.append((it, "val", cut, n - cut))
        else:
            pieces.append((it, "val" if k in val else "train", 0, n))
    return pieces


def _tail_cuts(items: list[Item], idx: list[int], val_fraction: float) -> dict[int, int]:
    """Each item's cut point when its last `val_fraction` becomes validation (items too
    short for two pieces stay whole, for training)."""
    cuts = {}
    for k in idx:
        n = items[k].lengths["target"]
        n_val = int(round(n * val_fraction))
        if n_val >= MIN_CODES and n - n_val >= MIN_CODES:
            cuts[k] = n - n_val
    return cuts


# ---------------------------------------------------------------- building

ProgressFn = Callable[[str, float, int], None]


def fail_or_skip(e: audio.BadAudioFile, config: DataConfig, skipped: list[dict]) -> None:
    if config.strict:
        raise AudioRNNError(f"{e.path}: {e.reason} (--strict)")
    log.warning("skipping %s: %s", e.path, e.reason)
    skipped.append({"source": e.path, "reason": e.reason})


def build(items: list[Item], out_dir: str | os.PathLike, config: DataConfig, *, job: str,
          overwrite: bool = False, progress: ProgressFn | None = None,
          extra_meta: dict | None = None, ignored: int = 0,
          skipped: list[dict] | None = None) -> dict:
    """Scans, splits and encodes items into a dataset directory (atomically).

    Args:
      items: the examples; every item names a path for each stream.
      out_dir: the dataset directory to create.
      job: the job the dataset is for (its builder in jobs/ calls this).
      config: DSP and split settings.
      overwrite: replace an existing out_dir.
      progress: called as progress(stage, source_seconds_done, files_done).
      extra_meta: additional keys for dataset.json (a one-shot layout).
      ignored: non-audio files seen in folders, reported in the summary.
      skipped: files already skipped by the caller ({"source", "reason"}), reported too.

    Returns:
      The dataset.json contents.
    """
    config.validate()
    out = Path(out_dir)
    check_out(out, overwrite)
    skipped = list(skipped or [])
    good = _scan(items, config, progress, skipped)  # pass 1: checks, lengths and peaks
    streams = list(good[0].streams)
    gains = {s: dsp.gain_for_peak(max(it.peaks[s] for it in good), config.headroom)
             for s in streams}
    conditions = _condition_layout(good)
    tmp = out.parent / f".{out.name}.partial-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True)
    try:  # pass 2: encode into .npy files in a temporary directory, renamed into place
        offsets, fingerprint = _encode(good, gains, conditions, tmp, config, progress)
        meta = _meta(good, gains, conditions, offsets, fingerprint, config, skipped, ignored, job)
        if extra_meta:
            meta.update(extra_meta)
        write_json_atomic(tmp / "dataset.json", meta)
        _move_into_place(tmp, out, overwrite)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return meta


def _scan(items: list[Item], config: DataConfig, progress, skipped: list[dict]) -> list[Item]:
    """Pass 1: every item's streams checked, their lengths and peaks measured; the usable ones."""
    good: list[Item] = []
    done_s = 0.0
    for n_done, it in enumerate(items, 1):
        if set(it.lengths) == set(it.streams):  # scanned already (pairs)
            good.append(it)
            done_s += it.seconds
            if progress:
                progress("scan", done_s, n_done)
            continue
        try:
            for stream, path in it.streams.items():
                st: dict = {}
                n, peak, i = scan_stream(path, config, st)
                it.extra["silence_removed_s"] = st.get("silence_removed", 0) / config.sample_rate
                it.lengths[stream], it.peaks[stream] = n, peak
                it.source_rate, it.channels = i.sample_rate_hz, i.channels
                it.seconds = max(it.seconds, i.seconds)
            if len(set(it.lengths.values())) > 1:
                raise audio.BadAudioFile(it.name, f"streams differ in length {it.lengths}")
            good.append(it)
        except audio.BadAudioFile as e:
            fail_or_skip(e, config, skipped)
        done_s += it.seconds or audio.seconds(it.streams["target"])
        if progress:
            progress("scan", done_s, n_done)
    if not good:
        reasons = "; ".join(f"{Path(s['source']).name}: {s['reason']}" for s in skipped[:3])
        raise AudioRNNError("no usable audio" + (f" ({reasons})" if reasons else ""))
    return good


def _encode(good: list[Item], gains: dict, conditions: dict, tmp: Path, config: DataConfig,
            progress) -> tuple[dict[int, int], str]:
    """Pass 2: each stream's codes appended to TMP/<stream>.npy (plain appends, not a memory
    map, keep written pages out of this process's RSS), per-step conditions beside them.
    Returns each item's offset (by id) and the data's fingerprint."""
    streams = list(gains)
    total = sum(it.lengths["target"] for it in good)
    files = {s: open(tmp / f"{s}.npy", "wb") for s in streams}  # noqa: SIM115
    step_files = {c: open(tmp / conditions[c]["file"], "wb")  # noqa: SIM115
                  for c in conditions if conditions[c]["per"] == "step"}
    hashers = {s: hashlib.sha256(s.encode()) for s in streams}
    offsets: dict[int, int] = {}
    pos, done_s = 0, 0.0
    try:
        for s in streams:
            np.lib.format.write_array_header_1_0(
                files[s], {"descr": "|u1", "fortran_order": False, "shape": (total,)})
        for c, f in step_files.items():
            np.lib.format.write_array_header_1_0(
                f, {"descr": "<f4", "fortran_order": False, "shape": (total, conditions[c]["size"])})
        for n_done, it in enumerate(good, 1):
            offsets[id(it)] = pos
            for s in streams:
                _encode_stream(it, s, gains[s], config, files[s], hashers[s])
            for c, f in step_files.items():
                v = np.asarray(it.step_values[c], np.float32).reshape(it.lengths["target"], -1)
                f.write(v.tobytes())
            pos += it.lengths["target"]
            done_s += it.seconds
            if progress:
                progress("encode", done_s, n_done)
    finally:
        for f in [*files.values(), *step_files.values()]:
            f.close()
    hasher = hashlib.sha256("".join(hashers[s].hexdigest() for s in streams).encode())
    return offsets, hasher.hexdigest()[:16]


def _encode_stream(it: Item, s: str, gain: float, config: DataConfig, f, hasher) -> None:
    """One item's stream `s`, encoded, trimmed and cut to its scanned length, into `f`."""
    written, skip = 0, it.trim.get(s, 0)
    for codes in encoded_blocks(it.streams[s], config.sample_rate, config.preemphasis, gain,
                                config.max_silence, config.silence_db):
        if skip:
            codes, skip = codes[skip:], max(0, skip - len(codes))
        codes = codes[: it.lengths[s] - written]
        f.write(codes.tobytes())
        hasher.update(codes.tobytes())
        written += len(codes)
    if written != it.lengths[s]:
        raise AudioRNNError(f"{it.streams[s]}: changed while the dataset was built")


def _meta(good: list[Item], gains: dict, conditions: dict, offsets: dict, fingerprint: str,
          config: DataConfig, skipped: list[dict], ignored: int, job: str) -> dict:
    """dataset.json: the codec settings, streams, splits, labels, counts and sources."""
    pieces = split_items(good, config.val_fraction, config.seed)
    label_names = sorted({it.label for it in good if it.label is not None})
    label_index = {name: k for k, name in enumerate(label_names)}
    segments = [Segment(source=str(it.name or it.streams["target"]),
                        offset=offsets[id(it)] + start, length=length, split=split,
                        label=label_index.get(it.label), start=start, values=dict(it.values))
                for it, split, start, length in pieces]
    rate = config.sample_rate
    n_train = sum(s.length for s in segments if s.split == "train")
    n_val = sum(s.length for s in segments if s.split == "val")
    return {
        "format": FORMAT, "version": FORMAT_VERSION, "created_by": f"audiornn {__version__}",
        "job": job, "sample_rate": rate, "preemphasis": config.preemphasis, "mu": dsp.MU,
        "seed": config.seed, "val_fraction": config.val_fraction,
        "streams": {s: {"file": f"{s}.npy", "gain": g, "gain_db": 20 * np.log10(g),
                        "peak_preemphasized": max(it.peaks[s] for it in good)}
                    for s, g in gains.items()},
        "labels": label_names,
        "conditions": conditions,
        "max_silence": {"seconds": config.max_silence, "threshold_db": config.silence_db,
                        "removed_seconds": sum(it.extra.get("silence_removed_s", 0.0) for it in good)},
        "n_codes": sum(it.lengths["target"] for it in good),
        "counts": {"files": len(good), "skipped": len(skipped), "ignored_non_audio": ignored,
                   "train_codes": n_train, "val_codes": n_val,
                   "train_hours": n_train / rate / 3600, "val_hours": n_val / rate / 3600},
        "sources": [{"name": str(it.name or it.streams["target"]), "files": dict(it.streams),
                     "source_rate": it.source_rate, "channels": it.channels,
                     "offset": offsets[id(it)], "length": it.lengths["target"],
                     "label": it.label, **it.extra} for it in good],
        "segments": [asdict(s) for s in segments],
        "skipped": skipped,
        "fingerprint": fingerprint,
    }


def _condition_layout(items: list[Item]) -> dict:
    """dataset.json's "conditions": each continuous stream's kind, size and range.

    Every item must give the same conditions with the same sizes.
    """
    first = items[0]
    out = {}
    for per, attr in (("sequence", "values"), ("step", "step_values")):
        for name, v in getattr(first, attr).items():
            v = np.asarray(v)
            size = v.reshape(len(v), -1).shape[1] if per == "step" else v.reshape(-1).size
            out[name] = {"per": per, "size": size}
            if per == "step":
                out[name]["file"] = f"{name}.npy"
    for it in items:
        for per, attr in (("sequence", "values"), ("step", "step_values")):
            mine = {k for k, c in out.items() if c["per"] == per}
            if set(getattr(it, attr)) != mine:
                raise AudioRNNError(f"{it.name}: its conditions {sorted(getattr(it, attr))} differ "
                                    f"from the other files' {sorted(mine)}")
    for name, c in out.items():
        if c["per"] == "sequence":
            vals = np.array([np.atleast_1d(it.values[name]) for it in items], np.float64)
            if vals.shape[1:] != (c["size"],) or not np.all(np.isfinite(vals)):
                raise AudioRNNError(f"condition {name!r}: every file needs {c['size']} finite value(s)")
            c["min"], c["max"] = vals.min(0).tolist(), vals.max(0).tolist()
    return out


def read_conditions(csv_path: str | os.PathLike) -> dict[str, dict[str, list[float]]]:
    """Reads a conditions CSV: a header `file,NAME,...`, then one row per file with numbers.

    Returns file name -> {condition name -> [value]}. A row's file is matched by
    its name against the sources (see `attach_conditions`).
    """
    import csv

    path = Path(csv_path)
    try:
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
    except OSError as e:
        raise AudioRNNError(f"{path}: cannot be read ({e.strerror})") from None
    except (UnicodeDecodeError, csv.Error) as e:
        raise AudioRNNError(f"{path}: not a CSV file ({e})") from None
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows or len(rows[0]) < 2 or rows[0][0].strip() != "file":
        raise AudioRNNError(f"{path}: the first line must be a header: file,NAME[,NAME...]")
    names = [c.strip() for c in rows[0][1:]]
    if any(not n.isidentifier() for n in names) or len(set(names)) != len(names):
        raise AudioRNNError(f"{path}: condition names must be distinct identifiers, got {names}")
    out: dict = {}
    for k, row in enumerate(rows[1:], 2):
        if len(row) != len(names) + 1:
            raise AudioRNNError(f"{path}: line {k} has {len(row)} fields, the header {len(names) + 1}")
        try:
            values = [float(c) for c in row[1:]]
        except ValueError:
            raise AudioRNNError(f"{path}: line {k}: values must be numbers, got {row[1:]}") from None
        if not all(np.isfinite(values)):
            raise AudioRNNError(f"{path}: line {k}: values must be finite, got {row[1:]}")
        out[Path(row[0].strip()).name] = {n: [v] for n, v in zip(names, values)}
    return out


def attach_conditions(items: list[Item], csv_path: str | os.PathLike | None) -> None:
    """Gives every item its per-sequence conditions from a CSV (matched by file name)."""
    if not csv_path:
        return
    table = read_conditions(csv_path)
    for it in items:
        names = [Path(it.name).name] + [Path(p).name for p in it.streams.values()]
        row = next((table[n] for n in names if n in table), None)
        if row is None:
            raise AudioRNNError(f"{csv_path}: no line for {names[0]} (every file needs its values)")
        it.values = row


def check_out(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise AudioRNNError(f"{out}: exists and is not a directory")
    if out.exists() and not overwrite:
        raise AudioRNNError(f"{out}: already exists (use --overwrite to replace it)")
    parent = out.parent
    parent.mkdir(parents=True, exist_ok=True)
    if not os.access(parent, os.W_OK):
        raise AudioRNNError(f"{parent}: not writable")
    clean_stale(out, ("partial-", "old-"))


def clean_stale(out: Path, kinds: tuple[str, ...]) -> None:
    """Removes the temporary folders a killed build of this output left (by their names)."""
    for stale in out.parent.glob(f".{out.name}.*"):
        if stale.name[len(out.name) + 2:].startswith(kinds):
            shutil.rmtree(stale, ignore_errors=True)


def _move_into_place(tmp: Path, out: Path, overwrite: bool) -> None:
    if out.exists():
        if not overwrite:
            raise AudioRNNError(f"{out}: already exists (use --overwrite to replace it)")
        trash = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
        os.replace(out, trash)
        os.replace(tmp, out)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(tmp, out)
