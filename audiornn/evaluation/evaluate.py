"""`python -m audiornn eval RUN`: plots and quality numbers that cannot flatter.

Sections (each is skipped with a stated reason when its inputs are missing;
the job declares which of the last three apply):
  curves     loss (bits per sample) and accuracy per epoch from history.csv;
  held-out   the model's bits per sample and top-1 accuracy on the dataset's
             validation split (or --audio files), with the recurrent state
             carried across each whole file (scoring.py), next to a unigram and
             an LPC + discretized-Laplace baseline on the same codes;
  generated  (--generate SECONDS or --compare WAV...) spectrograms and
             average spectra of generated against real held-out audio;
  effect     (--input DRY --target WET) the run applied to DRY against WET;
  oneshots   generated hits per label against the real ones (spectra, attack
             time, second onsets); with a map, its picture and how well a
             point predicts its sound.

Writes RUN/plots/*.png (plots.py), RUN/eval.json, and prints a table (report.py).
"""

from __future__ import annotations

import logging
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

from audiornn import dsp, heads, jobs, metrics
from audiornn.config import RunConfig, read_run_config
from audiornn.data import Dataset, audio, open_dataset
from audiornn.data.codec import Codec
from audiornn.errors import AudioRNNError
from audiornn.evaluation.plots import (
    plot_curves,
    plot_effect,
    plot_hit_spectra,
    plot_hits,
    plot_levels,
    plot_map,
    plot_spectra,
    plot_spectrograms,
)
from audiornn.evaluation.report import table
from audiornn.files import write_json_atomic
from audiornn.jobs.oneshot_data import read_hit
from audiornn.progress import Progress
from audiornn.runtime.scoring import Scorer, dataset_sequences, split_sequences

log = logging.getLogger("audiornn.eval")
PROG = "python -m audiornn eval"
EVAL_FORMAT = "audiornn-eval"
EVAL_VERSION = 1

__all__ = ["evaluate", "table", "Scorer", "dataset_sequences"]


def check_codec(ds: Dataset, codec: Codec, where: str) -> None:
    """Raises when a dataset was not preprocessed like the run's training data."""
    have = ds.codec
    for key in ("sample_rate", "preemphasis", "mu"):
        if getattr(have, key) != getattr(codec, key):
            raise AudioRNNError(f"{where}: its {key} is {getattr(have, key)} but the run was "
                                f"trained with {getattr(codec, key)}; evaluate it with a run "
                                "trained on it")
    for stream, gain in codec.gains.items():
        other = have.gains.get(stream)
        if other is None or not math.isclose(other, gain, rel_tol=1e-6):
            raise AudioRNNError(f"{where}: its {stream} gain differs from the run's "
                                "(a different dataset); evaluate it with a run trained on it")


def read_history(run_dir: Path) -> dict[str, np.ndarray] | None:
    path = run_dir / "history.csv"
    if not path.exists() or path.stat().st_size == 0:
        return None
    import csv

    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return None
    cols = {}
    for key in rows[0]:
        try:
            cols[key] = np.array([float(r[key]) if r[key] != "" else np.nan for r in rows])
        except (TypeError, ValueError):
            continue
    return cols


def effect_numbers(target: np.ndarray, output: np.ndarray) -> dict:
    return {"esr": metrics.esr(target, output),
            "esr_preemphasis": metrics.esr(target, output, preemphasis=0.95),
            "snr_db": dsp.snr_db(target[:len(output)], output[:len(target)])}


def run_latency(ds: Dataset | None) -> int | None:
    """The latency the run's training pairs were aligned with (their median, in samples at
    the dataset's rate), or None without the dataset."""
    lags = [s["latency"] for s in (ds.meta.get("sources", []) if ds is not None else [])
            if "latency" in s]
    return int(np.median(lags)) if lags else None


def evaluate_effect(model, config: RunConfig, run_dir: Path, input_path: str, target_path: str,
                    decode: str = "argmax", quiet: bool = False,
                    latency: int | None = None) -> tuple[dict, str]:
    """Applies an effect run to DRY and compares with WET; returns (numbers, plot path).

    latency: the run's alignment (samples at the model's rate; `run_latency`), used for
    the pair as for training (a recording from the same rig has the same latency);
    None: estimated from this pair.
    """
    from audiornn.runtime.effect import Effect
    from audiornn.runtime.sampler import Generator

    out = run_dir / "samples" / "eval-effect.wav"
    out.parent.mkdir(exist_ok=True)
    t0 = time.perf_counter()
    if heads.get(config.model.head).float_output:
        decode = "regression"
        from audiornn.runtime import ir

        Effect(model, config, ir.load(run_dir)).process_file(input_path, out, fmt="float")
    else:
        Generator(model, config).apply(input_path, out, decode=decode, progress=not quiet)
    elapsed = time.perf_counter() - t0
    y, rate = audio.read(out)
    x, _ = audio.read(input_path)
    t, rt = audio.read(target_path)
    if rt != rate:
        t = dsp.resample(t, rt, rate)
    probe = int(30 * rate)
    est, corr = dsp.estimate_latency(x[:probe], t[:probe], int(0.5 * rate))
    lag = est if latency is None else int(round(latency * rate / config.codec.sample_rate))
    t = t[lag:] if lag >= 0 else np.concatenate([np.zeros(-lag), t])
    n = min(len(x), len(t), len(y))
    x, t, y = x[:n], t[:n], y[:n]
    g = metrics.best_gain(t, x)
    numbers = {"input": str(input_path), "target": str(target_path), "decode": decode,
               "seconds": n / rate, "target_latency": lag, "target_correlation": corr,
               "latency_from": "estimated" if latency is None else "the run's alignment",
               "apply_x_realtime": (n / rate) / max(elapsed, 1e-9),
               "model": effect_numbers(t, y),
               "do_nothing": effect_numbers(t, x),
               "dry_gain_matched": {**effect_numbers(t, g * x), "gain": g},
               "output": str(out)}
    plot = plot_effect(t, y, x, rate, run_dir / "plots" / "effect.png")
    return numbers, plot


def evaluate_oneshots(model, config: RunConfig, ds: Dataset, run_dir: Path, per_label: int = 8,
                      seed: int = 0, temperature: float = 1.0, quiet: bool = False,
                      floor: float = 0.0, top_p: float = 1.0) -> tuple[dict, list]:
    """Per label: generated hits against the real ones (average spectra, attack time)."""
    from audiornn.runtime.sampler import Generator

    rate = config.codec.sample_rate
    attack = config.job.layout.attack_samples
    gen = Generator(model, config)
    real: dict[str, list[np.ndarray]] = {name: [] for name in ds.labels}
    for seg in ds.segments:
        real[ds.labels[seg.label]].append(read_hit(ds, seg))
    out_dir = run_dir / "samples" / "eval-oneshots"
    out_dir.mkdir(parents=True, exist_ok=True)
    section, fakes, spectra = {}, {}, {}
    gate = jobs.get(config.job.name).gate_db  # what generate writes: the hits ended
    for name in ds.labels:
        target = out_dir / name if per_label > 1 else out_dir / f"{name}.wav"
        paths = gen.write(target, num=per_label, seed=seed, temperature=temperature, floor=floor,
                          top_p=top_p,
                          label=name,
                          progress=not quiet, report=False)
        hits = [audio.read(p)[0] for p in paths]
        fakes[name] = hits
        marks = np.array([dsp.hit_mark(h, config.job.layout.align) for h in hits])
        err_ms = np.abs(marks - attack) / rate * 1000
        again = [metrics.second_onset(h, rate) is not None for h in hits]
        again_gated = [metrics.second_onset(dsp.end_hit(h, rate, gate), rate) is not None
                       for h in hits]
        spectra[name] = {"real": metrics.mean_spectrum(real[name], rate),
                         "generated": metrics.mean_spectrum(hits, rate)}
        section[name] = {
            "real_hits": len(real[name]), "generated_hits": len(hits),
            "spectral_distance_db": metrics.log_spectral_distance_db(
                spectra[name]["real"][1], spectra[name]["generated"][1]),
            "centroid_hz_real": float(np.mean([metrics.spectral_centroid(h, rate) for h in real[name]])),
            "centroid_hz_generated": float(np.mean([metrics.spectral_centroid(h, rate) for h in hits])),
            "attack_error_ms_median": float(np.median(err_ms)),
            "attack_within_5ms": float(np.mean(err_ms <= 5.0)),
            "second_onsets": float(np.mean(again)),
            "second_onsets_gated": float(np.mean(again_gated)), "gate_db": gate,
            "second_onsets_real": float(np.mean([metrics.second_onset(h, rate) is not None
                                                 for h in real[name]])),
            "files": [str(p) for p in paths],
        }
    plots = [plot_hits(real, fakes, rate, attack, run_dir / "plots" / "oneshots.png"),
             plot_hit_spectra(spectra, run_dir / "plots" / "oneshot_spectra.png")]
    if gen.latent is not None:
        section["map"], plot = evaluate_map(gen, ds, run_dir, seed, temperature, quiet, floor=floor,
                                            top_p=top_p)
        plots.append(plot)
    return section, plots


def evaluate_map(gen, ds: Dataset, run_dir: Path, seed: int = 0, temperature: float = 1.0,
                 quiet: bool = False, grid: int = 5, floor: float = 0.0,
                 top_p: float = 1.0) -> tuple[dict, str]:
    """The map: its picture, and how well a point predicts its sound.

    For each training hit, a hit generated at its own point (with its label)
    counts as placed when its average spectrum is closer to that training hit's
    than to the average spectrum of every other label's hits.
    """
    hm = gen.map()
    rate = gen.sample_rate
    real = [read_hit(ds, s) for s in ds.split("train")]
    out_dir = run_dir / "samples" / "eval-map"
    paths = gen.write(out_dir / "own", num=len(hm.points), seed=seed, temperature=temperature,
                      floor=floor, top_p=top_p,
                      points=hm.points, label_weights=hm.label_weights(hm.points),
                      progress=not quiet, report=False)
    own = [metrics.average_spectrum(audio.read(p)[0], rate, 256)[1] for p in paths]
    spectra = [metrics.average_spectrum(x, rate, 256)[1] for x in real]
    per_label = {k: np.mean([spectra[i] for i in np.flatnonzero(hm.labels == k)], axis=0)
                 for k in set(hm.labels.tolist())}
    placed = []
    for i, p in enumerate(own):
        d_own = metrics.log_spectral_distance_db(p, spectra[i])
        others = [metrics.log_spectral_distance_db(p, s) for k, s in per_label.items()
                  if k != hm.labels[i]]
        placed.append(d_own < min(others) if others else True)
    pts = hm.grid(grid)
    grid_paths = gen.write(out_dir / "grid", num=len(pts), seed=seed, temperature=temperature,
                           floor=floor, top_p=top_p,
                           points=pts, label_weights=hm.label_weights(pts), progress=not quiet,
                           report=False)
    plot = plot_map(hm, pts, [audio.read(p)[0] for p in grid_paths], run_dir / "plots" / "map.png")
    by_label = {}
    for k in sorted(set(hm.labels.tolist())):
        sel = hm.labels == k
        by_label[hm.label_names[k] if k >= 0 else "all"] = float(np.mean(np.array(placed)[sel]))
    return {"dim": hm.dim, "radius": hm.radius, "hits": len(hm.points),
            "closer_to_own_hit": float(np.mean(placed)), "closer_to_own_hit_by_label": by_label,
            "grid": [str(p) for p in grid_paths]}, plot


def evaluate(run_dir: str | os.PathLike, *, dataset_dir: str | None = None,
             audio_files: list[str] | None = None, generate_seconds: float = 0.0,
             compare: list[str] | None = None, max_seconds: float = 120.0, lpc_order: int = 32,
             seed: int = 0, temperature: float | None = None, split_seconds: float = 0.0,
             effect_input: str | None = None, effect_target: str | None = None,
             decode: str = "argmax", hits_per_label: int = 8, quiet: bool = False,
             floor: float | None = None, top_p: float | None = None) -> dict:
    """Runs every section it can for a run; writes RUN/plots/*.png and RUN/eval.json.

    Returns the eval.json contents.
    """
    from audiornn.runtime.model import load_run

    run_dir = Path(run_dir)
    config = read_run_config(run_dir)
    job = jobs.get(config.job.name)
    temperature = job.temperature if temperature is None else temperature
    floor = job.floor if floor is None else floor
    top_p = job.top_p if top_p is None else top_p
    _check_options(run_dir, config, job, lpc_order, max_seconds, generate_seconds, split_seconds,
                   effect_input, effect_target, (audio_files or []) + (compare or []))
    rate = config.codec.sample_rate
    plots_dir = run_dir / "plots"
    plots_dir.mkdir(exist_ok=True)
    result: dict = {"format": EVAL_FORMAT, "version": EVAL_VERSION, "run": str(run_dir),
                    "job": job.name, "sample_rate": rate, "plots": [], "skipped": {}}
    _curves(run_dir, result, config)
    ds = _open_dataset(config, dataset_dir, result)
    model, _ = load_run(run_dir)
    sets = _heldout_sets(config, ds, audio_files, int(max_seconds * rate), seed, result)
    result["heldout"] = _score_sets(model, config, ds, sets, lpc_order, split_seconds, seed, quiet)

    # Generated audio against real held-out audio.
    result["generated"] = None
    if generate_seconds and "generated" not in job.eval_sections:
        raise AudioRNNError(f"--generate compares sampled audio; a {job.name} run is judged by its "
                            f"own sections ({', '.join(job.eval_sections)})")
    gen_clips: dict[str, np.ndarray] = {}
    if generate_seconds:
        from audiornn.runtime.sampler import Generator

        out = run_dir / "samples" / f"eval-seed{seed}.wav"
        out.parent.mkdir(exist_ok=True)
        Generator(model, config).write(out, seconds=generate_seconds, seed=seed,
                                       temperature=temperature, floor=floor, top_p=top_p,
                                       progress=not quiet)
        gen_clips["generated"] = audio.read(out)[0]
        result["generated_files"] = [str(out)]
    for f in compare or []:
        x, r = audio.read(f)
        gen_clips[Path(f).name] = dsp.resample(x, r, rate)
    if gen_clips:
        result["generated"] = _compare_generated(gen_clips, config, ds, seed, plots_dir, result)
        if generate_seconds:
            result["generated"]["temperature"] = temperature

    # One-shots: per label, generated hits against the real ones.
    result["oneshots"] = None
    if "oneshots" in job.eval_sections and hits_per_label:
        if ds is None:
            result["skipped"]["oneshots"] = "needs the run's dataset (the real hits)"
        else:
            section, plots = evaluate_oneshots(model, config, ds, run_dir, hits_per_label, seed,
                                               temperature, quiet, floor=floor, top_p=top_p)
            result["map"] = section.pop("map", None)
            result["oneshots"] = section
            result["plots"] += plots

    # Effects: apply to a dry file, compare with its wet recording.
    result["effect"] = None
    if effect_input:
        numbers, plot = evaluate_effect(model, config, run_dir, effect_input, effect_target,
                                        decode, quiet, latency=run_latency(ds))
        result["effect"] = numbers
        result["plots"].append(plot)

    write_json_atomic(run_dir / "eval.json", result)
    return result


def _check_options(run_dir: Path, config: RunConfig, job, lpc_order: int, max_seconds: float,
                   generate_seconds: float, split_seconds: float, effect_input, effect_target,
                   files: list[str]) -> None:
    """Every option error before any work."""
    if not 1 <= lpc_order <= 64:
        raise AudioRNNError(f"--lpc-order must be in [1, 64], got {lpc_order}")
    one_sample = 1.0 / config.codec.sample_rate
    for name, v in (("--max-seconds", max_seconds), ("--generate", generate_seconds),
                    ("--split", split_seconds)):
        if (v or name == "--max-seconds") and not one_sample <= v < 1e6:
            raise AudioRNNError(f"{name} must be between one sample and 1e6 seconds, got {v}")
    if bool(effect_input) != bool(effect_target):
        raise AudioRNNError("--input and --target go together (a dry file and its wet recording)")
    if effect_input and "effect" not in job.eval_sections:
        raise AudioRNNError(f"{run_dir}: --input/--target evaluate effect runs; this run "
                            "was not trained on dry/wet pairs")
    for f in files + [f for f in (effect_input, effect_target) if f]:
        audio.info(f)  # a bad file is an error before any work


def _curves(run_dir: Path, result: dict, config: RunConfig) -> None:
    hist = read_history(run_dir)
    if hist is None or not any(k in hist for k in ("loss", "bits")):
        result["curves"] = None
        result["skipped"]["curves"] = f"{run_dir / 'history.csv'}: missing or empty"
    else:
        result["curves"] = plot_curves(hist, run_dir / "plots" / "curves.png", config.model)
        result["plots"].append(str(run_dir / "plots" / "curves.png"))


def _open_dataset(config: RunConfig, dataset_dir: str | None, result: dict) -> Dataset | None:
    """The dataset (held-out split, the baselines' training data, real audio), if there is one."""
    ds_path = dataset_dir or config.dataset.get("path")
    if ds_path and Path(ds_path).exists():
        ds = open_dataset(ds_path)
        check_codec(ds, config.codec, str(ds_path))
        return ds
    if dataset_dir:
        raise AudioRNNError(f"{dataset_dir}: no such dataset directory")
    result["skipped"]["dataset"] = f"the run's dataset {ds_path} is gone (give --dataset DIR)"
    return None


def _heldout_sets(config: RunConfig, ds: Dataset | None, audio_files, max_codes: int, seed: int,
                  result: dict) -> list:
    """(name, sequences) to score: the validation split and the --audio files."""
    sets = []
    if heads.get(config.model.head).float_output:
        result["skipped"]["heldout"] = ("the regression head predicts samples, not a "
                                        "distribution: its validation ESR is in the curves")
    elif ds is not None and ds.split("val"):
        sets.append(("validation split", dataset_sequences(ds, "val", max_codes, seed)))
    elif ds is not None:
        result["skipped"]["heldout"] = f"{ds.path}: no validation split (built with --val-fraction 0)"
    if audio_files:
        if [s.name for s in config.model.streams if not s.feedback]:
            raise AudioRNNError("--audio scores models that see only their own audio; runs with "
                                "inputs, labels or conditions are scored on their dataset")
        seqs = []
        for f in audio_files:
            codes = config.codec.encode_file(f)[:max_codes]
            if len(codes) < 2:
                raise AudioRNNError(f"{f}: too short to score")
            seqs.append({"target": codes, "name": str(f)})
        sets.append(("--audio files", seqs))
    return sets


def _score_sets(model, config: RunConfig, ds: Dataset | None, sets: list, lpc_order: int,
                split_seconds: float, seed: int, quiet: bool) -> list[dict]:
    """Bits per sample of the model and of the baselines (unigram, LPC) on each set."""
    rate = config.codec.sample_rate
    baselines = None
    if ds is not None and ds.split("train") and sets:
        train = dataset_sequences(ds, "train", 2_000_000, seed)
        baselines = {"unigram": metrics.unigram(np.concatenate([s["target"] for s in train])),
                     "lpc": metrics.LPC(lpc_order).fit([s["target"] for s in train])}
    scorer = Scorer(model, config) if sets else None
    out = []
    for name, seqs in sets:
        total = sum(len(s["target"]) for s in seqs)
        if not quiet:
            print(f"scoring {name}: {total / rate:.1f} s", file=sys.stderr)
        t0 = time.perf_counter()
        pieces = split_sequences(seqs, int(split_seconds * rate)) if split_seconds else seqs
        scored = scorer.score(pieces, Progress(total, "sample", quiet, per_second=rate))
        elapsed = time.perf_counter() - t0
        entry = {"name": name, "seconds": total / rate, "samples": total,
                 "files": [s["name"] for s in seqs][:50],
                 "model": {"bits": scored["bits"], "accuracy": scored["accuracy"]},
                 "scoring_seconds": elapsed, "split_seconds": split_seconds or None,
                 "scoring_x_realtime": (total / rate) / max(elapsed, 1e-9)}
        if baselines:
            entry.update(_baseline_scores(baselines, seqs, lpc_order))
        out.append(entry)
    return out


def _baseline_scores(baselines: dict, seqs: list, lpc_order: int) -> dict:
    codes = np.concatenate([s["target"] for s in seqs])
    ub, ua = metrics.unigram_score(baselines["unigram"], codes)
    lb, la, n = 0.0, 0.0, 0
    for s in seqs:
        b, a = baselines["lpc"].score(s["target"])
        lb, la, n = lb + b * len(s["target"]), la + a * len(s["target"]), n + len(s["target"])
    return {"unigram": {"bits": ub, "accuracy": ua},
            "lpc": {"bits": lb / n, "accuracy": la / n, "order": lpc_order}}


def _compare_generated(gen_clips: dict, config: RunConfig, ds: Dataset | None, seed: int,
                       plots_dir: Path, result: dict) -> dict:
    """eval's generated section: each clip's numbers, against held-out audio of its length."""
    codec, rate = config.codec, config.codec.sample_rate
    seconds = max(len(x) for x in gen_clips.values()) / rate
    clips = dict(gen_clips)
    real, reference = None, None
    if ds is not None and ds.split("val"):
        real_codes = np.concatenate(
            [s["target"] for s in dataset_sequences(ds, "val", int(seconds * rate), seed)])
        real = codec.decode(real_codes)[0]
        clips["real (held-out)"] = real
        reference = metrics.active_median_db(real)
    else:
        result["skipped"]["real"] = "no held-out audio to compare with"
    section: dict = {"clips": {name: metrics.audio_stats(x, rate, reference)
                               for name, x in gen_clips.items()}}
    if real is not None:
        section["real"] = metrics.audio_stats(real, rate, reference)
        section["real"]["active_median_dbfs"] = reference
        for name, x in gen_clips.items():
            section["clips"][name]["spectral_distance_db"] = metrics.spectral_distance_db(x, real, rate)
    result["plots"].append(plot_spectrograms(clips, rate, plots_dir / "spectrograms.png"))
    result["plots"].append(plot_spectra(clips, rate, plots_dir / "spectra.png"))
    result["plots"].append(plot_levels(clips, rate, plots_dir / "levels.png"))
    return section
