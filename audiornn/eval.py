"""`python -m audiornn.eval RUN`: plots and quality numbers that cannot flatter.

Sections (each is skipped with a stated reason when its inputs are missing):
  curves     loss (bits per sample) and accuracy per epoch from history.csv;
  held-out   the model's bits per sample and top-1 accuracy on the dataset's
             validation split (or --audio files), with the recurrent state
             carried across each whole file in chunks, next to a unigram and an
             LPC + discretized-Laplace baseline on the same codes;
  generated  (--generate SECONDS or --compare WAV...) spectrograms and
             average spectra of generated against real held-out audio, with
             the spectral distance, silent-frame fraction and flatness.

Writes RUN/plots/*.png, RUN/eval.json, and prints a table.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

from audiornn import audio, cli, dsp, metrics
from audiornn.dataset import Dataset, encode_file, open_dataset
from audiornn.errors import AudioRNNError
from audiornn.jsonfile import write_json_atomic

log = logging.getLogger("audiornn.eval")
PROG = "python -m audiornn.eval"
EVAL_FORMAT = "audiornn-eval"
EVAL_VERSION = 1
LN2 = math.log(2.0)


# ---------------------------------------------------------------- scoring


class Scorer:
    """Scores code sequences with a trained model, carrying the state across each sequence.

    A sequence is a dict with "target" codes, and "input" codes (effects) or a
    "label" index (one-shots) where the model has them. Position n is predicted
    from target codes before n (the first from silence), the input code at n
    and the label, exactly as in training. Sequences run side by side in
    batches, each in chunks of `chunk` steps with the state carried over.
    """

    def __init__(self, model, config: dict, chunk: int = 4096, batch: int = 32):
        import tensorflow as tf

        from audiornn.model import model_config_from
        from audiornn.step import Core

        self.tf = tf
        self.core = Core(model, model_config_from(config))
        self.chunk, self.batch = int(chunk), int(batch)
        self.n_labels = model_config_from(config).n_labels
        self._fn = tf.function(self._chunk_fn, reduce_retracing=True, jit_compile=True)

    def _chunk_fn(self, prev, dry, label_bias, targets, state):
        tf = self.tf
        logits, state = self.core.run(prev, dry, label_bias, state)
        logp = tf.nn.log_softmax(logits)
        lp = tf.gather(logp, targets, batch_dims=2)
        top = tf.argmax(logits, axis=-1, output_type=tf.int32)
        return lp, top, state

    def log_probs(self, sequences: list[dict], progress=None) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per sequence: (natural-log probability of each target code, the model's top-1 code)."""
        tf = self.tf
        core = self.core
        order = sorted(range(len(sequences)), key=lambda k: -len(sequences[k]["target"]))
        results: list = [None] * len(sequences)
        done = 0
        for g in range(0, len(order), self.batch):
            idx = order[g:g + self.batch]
            n = len(sequences[idx[0]]["target"])
            b = len(idx)
            tgt = np.full((b, n), dsp.SILENCE_CODE, np.int32)
            dry = np.full((b, n), dsp.SILENCE_CODE, np.int32) if core.dry_table is not None else None
            mix = np.zeros((b, max(self.n_labels, 1)))
            for r, k in enumerate(idx):
                s = sequences[k]
                tgt[r, :len(s["target"])] = s["target"]
                if dry is not None:
                    dry[r, :len(s["input"])] = s["input"]
                if self.n_labels:
                    mix[r, s.get("label") or 0] = 1.0
            prev = np.concatenate([np.full((b, 1), dsp.SILENCE_CODE, np.int32), tgt[:, :-1]], axis=1)
            label_bias = core.label_bias(mix if self.n_labels else None, b)
            state = core.zero_state(b)
            lps, tops = [], []
            for s0 in range(0, n, self.chunk):
                s1 = min(n, s0 + self.chunk)
                lp, top, state = self._fn(
                    tf.constant(prev[:, s0:s1]) if core.prev_table is not None else None,
                    tf.constant(dry[:, s0:s1]) if dry is not None else None,
                    label_bias, tf.constant(tgt[:, s0:s1]), state)
                lps.append(lp.numpy())
                tops.append(top.numpy())
                if progress:
                    progress(done + sum(min(len(sequences[k]["target"]), s1) for k in idx))
            lp_all, top_all = np.concatenate(lps, axis=1), np.concatenate(tops, axis=1)
            for r, k in enumerate(idx):
                m = len(sequences[k]["target"])
                results[k] = (lp_all[r, :m].astype(np.float64), top_all[r, :m])
            done += sum(len(sequences[k]["target"]) for k in idx)
        return results

    def score(self, sequences: list[dict], progress=None) -> dict:
        """{bits, accuracy, samples} over all positions of all sequences."""
        res = self.log_probs(sequences, progress)
        n = sum(len(lp) for lp, _ in res)
        nats = -sum(float(np.sum(lp)) for lp, _ in res)
        hits = sum(int(np.sum(top == s["target"])) for (_, top), s in zip(res, sequences))
        return {"bits": nats / max(n, 1) / LN2, "accuracy": hits / max(n, 1), "samples": n}


# ---------------------------------------------------------------- data


def dataset_sequences(ds: Dataset, split: str, max_codes: int | None = None,
                      seed: int = 0) -> list[dict]:
    """The split's segments as sequences (views into the memory maps), up to max_codes in all.

    Segments are taken in a fixed shuffled order; the last one is cut to fit.
    """
    segs = ds.split(split)
    order = np.random.default_rng(seed).permutation(len(segs)) if max_codes else range(len(segs))
    out, total = [], 0
    for k in order:
        s = segs[k]
        length = s.length if max_codes is None else min(s.length, max_codes - total)
        if length < 1:
            break
        seq = {"target": np.asarray(ds.streams["target"][s.offset:s.offset + length], np.int32),
               "label": s.label, "name": f"{Path(s.source).name}@{s.start}"}
        if "input" in ds.streams:
            seq["input"] = np.asarray(ds.streams["input"][s.offset:s.offset + length], np.int32)
        out.append(seq)
        total += length
    return out


def split_sequences(sequences: list[dict], piece: int) -> list[dict]:
    """Cuts sequences into pieces of `piece` codes that can be scored side by side.

    Each piece starts from a fresh state, so this trades exactness for speed
    where the held-out audio is one long file (`--split SECONDS`).
    """
    out = []
    for s in sequences:
        n = len(s["target"])
        for a in range(0, n, piece):
            p = {k: (v[a:a + piece] if isinstance(v, np.ndarray) else v) for k, v in s.items()}
            out.append(p)
    return out


def decode_codes(codes: np.ndarray, dsp_cfg: dict, stream: str = "target") -> np.ndarray:
    x, _ = dsp.decode(codes, float(dsp_cfg["preemphasis"]), float(dsp_cfg["gains"][stream]))
    return x


def check_dsp(ds: Dataset, run_dsp: dict, where: str) -> None:
    """Raises when a dataset was not preprocessed like the run's training data."""
    have = ds.dsp_settings()
    for key in ("sample_rate", "preemphasis", "mu"):
        if have[key] != run_dsp[key]:
            raise AudioRNNError(f"{where}: its {key} is {have[key]} but the run was trained with "
                                f"{run_dsp[key]}; evaluate it with a run trained on it")
    for stream, gain in run_dsp["gains"].items():
        other = have["gains"].get(stream)
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


# ---------------------------------------------------------------- plots


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> str:
    tmp = path.with_name(f".{path.stem}.tmp.png")
    fig.savefig(tmp, dpi=110, bbox_inches="tight")
    _plt().close(fig)
    os.replace(tmp, path)
    return str(path)


def plot_curves(hist: dict[str, np.ndarray], path: Path) -> dict:
    """Bits per sample and accuracy per epoch (train and validation), best epoch marked."""
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
    t = (np.arange(a, a + n)) / rate * 1000
    a1.plot(t, target[a:a + n], label="target (wet)", lw=2)
    a1.plot(t, output[a:a + n], label="model output", lw=1.2)
    a1.plot(t, dry[a:a + n], label="input (dry)", lw=0.8, color="0.6")
    a1.set(xlabel="ms", ylabel="amplitude", title="waveforms")
    a1.legend(fontsize=8)
    for name, x in (("target (wet)", target), ("model output", output), ("input (dry)", dry)):
        f, p = metrics.average_spectrum(x, rate)
        a2.semilogx(f[1:], 10 * np.log10(p[1:] + 1e-12), label=name)
    a2.set(xlabel="Hz", ylabel="dB", title="average spectra")
    a2.legend(fontsize=8)
    for ax in (a1, a2):
        ax.grid(alpha=0.3)
    return _save(fig, path)


def effect_numbers(target: np.ndarray, output: np.ndarray) -> dict:
    return {"esr": metrics.esr(target, output),
            "esr_preemphasis": metrics.esr(target, output, preemphasis=0.95),
            "snr_db": dsp.snr_db(target[:len(output)], output[:len(target)])}


def evaluate_effect(model, config: dict, run_dir: Path, input_path: str, target_path: str,
                    decode: str = "argmax", quiet: bool = False) -> tuple[dict, str]:
    """Applies an effect run to DRY and compares with WET; returns (numbers, plot path)."""
    from audiornn.generate import Generator

    gen = Generator(model, config)
    out = run_dir / "samples" / "eval-effect.wav"
    out.parent.mkdir(exist_ok=True)
    t0 = time.perf_counter()
    gen.apply(input_path, out, decode=decode, progress=not quiet)
    elapsed = time.perf_counter() - t0
    y, rate = audio.read(out)
    x, _ = audio.read(input_path)
    t, rt = audio.read(target_path)
    if rt != rate:
        t = dsp.resample(t, rt, rate)
    probe = int(30 * rate)
    lag, corr = dsp.estimate_latency(x[:probe], t[:probe], int(0.5 * rate))
    t = t[lag:] if lag >= 0 else np.concatenate([np.zeros(-lag), t])
    n = min(len(x), len(t), len(y))
    x, t, y = x[:n], t[:n], y[:n]
    g = metrics.best_gain(t, x)
    numbers = {"input": str(input_path), "target": str(target_path), "decode": decode,
               "seconds": n / rate, "target_latency": lag, "target_correlation": corr,
               "apply_x_realtime": (n / rate) / max(elapsed, 1e-9),
               "model": effect_numbers(t, y),
               "do_nothing": effect_numbers(t, x),
               "dry_gain_matched": {**effect_numbers(t, g * x), "gain": g},
               "output": str(out)}
    plot = plot_effect(t, y, x, rate, run_dir / "plots" / "effect.png")
    return numbers, plot


def evaluate_oneshots(model, config: dict, ds: Dataset, run_dir: Path, per_label: int = 8,
                      seed: int = 0, temperature: float = 1.0, quiet: bool = False) -> tuple[dict, list]:
    """Per label: generated hits against the real ones (average spectra, attack time)."""
    from audiornn.generate import Generator

    run_dsp = config["dsp"]
    rate = int(run_dsp["sample_rate"])
    o = run_dsp["oneshot"]
    attack = int(o["attack_samples"])
    gen = Generator(model, config)
    real: dict[str, list[np.ndarray]] = {name: [] for name in ds.labels}
    for seg in ds.segments:
        codes = np.asarray(ds.streams["target"][seg.offset:seg.offset + seg.length])
        real[ds.labels[seg.label]].append(decode_codes(codes, run_dsp))
    out_dir = run_dir / "samples" / "eval-oneshots"
    section, fakes, spectra = {}, {}, {}
    for name in ds.labels:
        target = out_dir / name if per_label > 1 else out_dir / f"{name}.wav"
        paths = gen.write(target, num=per_label, seed=seed, temperature=temperature, label=name,
                          progress=not quiet)
        hits = [audio.read(p)[0] for p in paths]
        fakes[name] = hits
        peaks = np.array([int(np.argmax(np.abs(h))) for h in hits])
        err_ms = np.abs(peaks - attack) / rate * 1000
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
            "files": [str(p) for p in paths],
        }
    plots = [plot_hits(real, fakes, rate, attack, run_dir / "plots" / "oneshots.png"),
             plot_hit_spectra(spectra, run_dir / "plots" / "oneshot_spectra.png")]
    return section, plots


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


# ---------------------------------------------------------------- the evaluation


class Progress:
    def __init__(self, total: int, quiet: bool, unit: str = "sample"):
        self.bar = None
        if not quiet and total > 0:
            from keras.utils import Progbar

            self.bar = Progbar(total, unit_name=unit)

    def __call__(self, done: int) -> None:
        if self.bar:
            self.bar.update(done)


def evaluate(run_dir: str | os.PathLike, *, dataset_dir: str | None = None,
             audio_files: list[str] | None = None, generate_seconds: float = 0.0,
             compare: list[str] | None = None, max_seconds: float = 120.0, lpc_order: int = 32,
             seed: int = 0, temperature: float = 1.0, split_seconds: float = 0.0,
             effect_input: str | None = None, effect_target: str | None = None,
             decode: str = "argmax", hits_per_label: int = 8, quiet: bool = False) -> dict:
    """Runs every section it can for a run; writes RUN/plots/*.png and RUN/eval.json.

    Returns the eval.json contents.
    """
    from audiornn.model import load_run, read_run_config

    run_dir = Path(run_dir)
    config = read_run_config(run_dir)
    if not 1 <= lpc_order <= 64:
        raise AudioRNNError(f"--lpc-order must be in [1, 64], got {lpc_order}")
    if not max_seconds > 0:
        raise AudioRNNError(f"--max-seconds must be > 0, got {max_seconds}")
    if bool(effect_input) != bool(effect_target):
        raise AudioRNNError("--input and --target go together (a dry file and its wet recording)")
    if effect_input and "input" not in config["dsp"]["gains"]:
        raise AudioRNNError(f"{run_dir}: --input/--target evaluate effect runs; this run "
                            "was not trained on dry/wet pairs")
    for f in (audio_files or []) + (compare or []) + [f for f in (effect_input, effect_target) if f]:
        audio.info(f)  # a bad file is an error before any work
    run_dsp = config["dsp"]
    rate = int(run_dsp["sample_rate"])
    plots_dir = run_dir / "plots"
    plots_dir.mkdir(exist_ok=True)
    result: dict = {"format": EVAL_FORMAT, "version": EVAL_VERSION, "run": str(run_dir),
                    "job": run_dsp.get("job", "generate"), "sample_rate": rate, "plots": [],
                    "skipped": {}}

    # Curves.
    hist = read_history(run_dir)
    if hist is None or not any(k in hist for k in ("loss", "bits")):
        result["curves"] = None
        result["skipped"]["curves"] = f"{run_dir / 'history.csv'}: missing or empty"
    else:
        result["curves"] = plot_curves(hist, plots_dir / "curves.png")
        result["plots"].append(str(plots_dir / "curves.png"))

    # The dataset (held-out split, baselines' training data, real audio).
    ds = None
    ds_path = dataset_dir or config.get("dataset", {}).get("path")
    if ds_path and Path(ds_path).exists():
        ds = open_dataset(ds_path)
        check_dsp(ds, run_dsp, str(ds_path))
    elif dataset_dir:
        raise AudioRNNError(f"{dataset_dir}: no such dataset directory")
    else:
        result["skipped"]["dataset"] = f"the run's dataset {ds_path} is gone (give --dataset DIR)"

    model, _ = load_run(run_dir)

    # Held-out likelihood.
    max_codes = int(max_seconds * rate)
    sets = []
    if ds is not None and ds.split("val"):
        sets.append(("validation split", dataset_sequences(ds, "val", max_codes, seed)))
    elif ds is not None:
        result["skipped"]["heldout"] = f"{ds_path}: no validation split (built with --val-fraction 0)"
    if audio_files:
        if "input" in run_dsp["gains"] or int(config["model"].get("n_labels", 0)):
            raise AudioRNNError("--audio scores generation models; effect and one-shot runs are "
                                "scored on their dataset")
        seqs = []
        for f in audio_files:
            codes = encode_file(f, run_dsp)[:max_codes]
            if len(codes) < 2:
                raise AudioRNNError(f"{f}: too short to score")
            seqs.append({"target": codes, "name": str(f)})
        sets.append(("--audio files", seqs))
    baselines = None
    if ds is not None and ds.split("train"):
        train = dataset_sequences(ds, "train", 2_000_000, seed)
        baselines = {"unigram": metrics.unigram(np.concatenate([s["target"] for s in train])),
                     "lpc": metrics.LPC(lpc_order).fit([s["target"] for s in train])}
    scorer = Scorer(model, config)
    result["heldout"] = []
    for name, seqs in sets:
        total = sum(len(s["target"]) for s in seqs)
        if not quiet:
            print(f"scoring {name}: {total / rate:.1f} s", file=sys.stderr)
        t0 = time.perf_counter()
        pieces = split_sequences(seqs, int(split_seconds * rate)) if split_seconds else seqs
        scored = scorer.score(pieces, Progress(total, quiet))
        elapsed = time.perf_counter() - t0
        entry = {"name": name, "seconds": total / rate, "samples": total,
                 "files": [s["name"] for s in seqs][:50],
                 "model": {"bits": scored["bits"], "accuracy": scored["accuracy"]},
                 "scoring_seconds": elapsed, "split_seconds": split_seconds or None,
                 "scoring_x_realtime": (total / rate) / max(elapsed, 1e-9)}
        if baselines:
            codes = np.concatenate([s["target"] for s in seqs])
            ub, ua = metrics.unigram_score(baselines["unigram"], codes)
            lb, la, n = 0.0, 0.0, 0
            for s in seqs:
                b, a = baselines["lpc"].score(s["target"])
                lb, la, n = lb + b * len(s["target"]), la + a * len(s["target"]), n + len(s["target"])
            entry["unigram"] = {"bits": ub, "accuracy": ua}
            entry["lpc"] = {"bits": lb / n, "accuracy": la / n, "order": lpc_order}
        result["heldout"].append(entry)

    # Generated audio against real held-out audio.
    result["generated"] = None
    gen_clips: dict[str, np.ndarray] = {}
    if generate_seconds:
        from audiornn.generate import Generator

        out = run_dir / "samples" / f"eval-seed{seed}.wav"
        out.parent.mkdir(exist_ok=True)
        gen = Generator(model, config)
        gen.write(out, seconds=generate_seconds, seed=seed, temperature=temperature,
                  progress=not quiet)
        gen_clips["generated"] = audio.read(out)[0]
        result["generated_files"] = [str(out)]
    for f in compare or []:
        x, r = audio.read(f)
        gen_clips[Path(f).name] = dsp.resample(x, r, rate)
    if gen_clips:
        seconds = max(len(x) for x in gen_clips.values()) / rate
        clips = dict(gen_clips)
        section: dict = {"clips": {name: metrics.audio_stats(x, rate) for name, x in gen_clips.items()}}
        real = None
        if ds is not None and ds.split("val"):
            real_codes = np.concatenate(
                [s["target"] for s in dataset_sequences(ds, "val", int(seconds * rate), seed)])
            real = decode_codes(real_codes, run_dsp)
            clips["real (held-out)"] = real
            section["real"] = metrics.audio_stats(real, rate)
            for name, x in gen_clips.items():
                section["clips"][name]["spectral_distance_db"] = metrics.spectral_distance_db(x, real, rate)
        else:
            result["skipped"]["real"] = "no held-out audio to compare with"
        result["plots"].append(plot_spectrograms(clips, rate, plots_dir / "spectrograms.png"))
        result["plots"].append(plot_spectra(clips, rate, plots_dir / "spectra.png"))
        result["generated"] = section

    # One-shots: per label, generated hits against the real ones.
    result["oneshots"] = None
    if run_dsp.get("oneshot") and hits_per_label:
        if ds is None:
            result["skipped"]["oneshots"] = "needs the run's dataset (the real hits)"
        else:
            section, plots = evaluate_oneshots(model, config, ds, run_dir, hits_per_label, seed,
                                               temperature, quiet)
            result["oneshots"] = section
            result["plots"] += plots

    # Effects: apply to a dry file, compare with its wet recording.
    result["effect"] = None
    if effect_input:
        numbers, plot = evaluate_effect(model, config, run_dir, effect_input, effect_target,
                                        decode, quiet)
        result["effect"] = numbers
        result["plots"].append(plot)

    write_json_atomic(run_dir / "eval.json", result)
    return result


# ---------------------------------------------------------------- report


def table(result: dict) -> str:
    lines = []
    c = result.get("curves")
    if c:
        lines.append(f"curves: {c['epochs']} epochs, best {c['monitor'].replace('_', ' ')} "
                     f"{c['best_bits']:.3f} bits/sample at epoch {c['best_epoch']}")
    for h in result.get("heldout", []):
        lines.append("")
        how = (f"in pieces of {h['split_seconds']:g} s" if h.get("split_seconds")
               else "state carried across each file")
        lines.append(f"held-out: {h['name']}, {h['seconds']:.1f} s ({h['samples']:,} samples), "
                     f"scored at {h['scoring_x_realtime']:.1f}x real time ({how})")
        lines.append(f"  {'predictor':<28}{'bits/sample':>12}{'top-1 acc.':>12}")
        rows = [("model", h["model"])]
        if "unigram" in h:
            rows += [("unigram (train histogram)", h["unigram"]),
                     (f"LPC-{h['lpc']['order']} + Laplace", h["lpc"])]
        for name, v in rows:
            lines.append(f"  {name:<28}{v['bits']:>12.3f}{v['accuracy']:>12.3f}")
    g = result.get("generated")
    if g:
        lines.append("")
        lines.append(f"  {'audio':<28}{'spec. dist. dB':>15}{'silent frames':>15}{'flatness':>10}")
        rows = list(g["clips"].items())
        if "real" in g:
            rows.append(("real (held-out)", g["real"]))
        for name, v in rows:
            d = v.get("spectral_distance_db")
            dist = f"{d:.1f}" if d is not None else "-"
            lines.append(f"  {name[:27]:<28}{dist:>15}"
                         f"{v['silent_fraction']:>15.0%}{v['flatness']:>10.3f}")
    hits = result.get("oneshots")
    if hits:
        lines.append("")
        lines.append(f"  {'label':<10}{'hits':>10}{'spec. dist. dB':>16}{'centroid Hz':>18}"
                     f"{'attack err.':>13}{'<= 5 ms':>9}")
        lines.append(f"  {'':<10}{'real/gen':>10}{'':>16}{'real / gen':>18}{'median ms':>13}")
        for name, v in hits.items():
            lines.append(f"  {name:<10}{v['real_hits']:>5}/{v['generated_hits']:<4}"
                         f"{v['spectral_distance_db']:>16.1f}"
                         f"{v['centroid_hz_real']:>9.0f} / {v['centroid_hz_generated']:<6.0f}"
                         f"{v['attack_error_ms_median']:>13.1f}{v['attack_within_5ms']:>9.0%}")
    e = result.get("effect")
    if e:
        lines.append("")
        lines.append(f"effect: {Path(e['input']).name} -> {Path(e['target']).name}, "
                     f"{e['seconds']:.1f} s, applied at {e['apply_x_realtime']:.1f}x real time "
                     f"({e['decode']}); target latency {e['target_latency']:+d} samples removed")
        lines.append(f"  {'output':<28}{'ESR':>10}{'ESR (pre-emph.)':>17}{'SNR dB':>9}")
        for name, key in (("model", "model"), ("do nothing (output = input)", "do_nothing"),
                          ("dry, gain-matched", "dry_gain_matched")):
            v = e[key]
            lines.append(f"  {name:<28}{v['esr']:>10.2%}{v['esr_preemphasis']:>17.2%}"
                         f"{v['snr_db']:>9.1f}")
    for what, why in result.get("skipped", {}).items():
        lines.append(f"skipped {what}: {why}")
    if result.get("plots"):
        lines.append("plots: " + ", ".join(result["plots"]))
    return "\n".join(lines)


def make_parser():
    p = cli.parser(PROG, "Plots and quality numbers for a trained run.")
    p.add_argument("run", metavar="RUN", help="a run directory (python -m audiornn.train)")
    p.add_argument("--dataset", help="dataset to score on (default: the run's own)")
    p.add_argument("--audio", nargs="+", metavar="FILE", help="also score these files")
    p.add_argument("--generate", type=cli.positive_float, metavar="SECONDS",
                   help="generate this much audio and compare it with held-out audio")
    p.add_argument("--compare", nargs="+", metavar="WAV",
                   help="compare existing (generated) files with held-out audio")
    p.add_argument("--input", metavar="DRY", help="effect runs: a dry file to apply the effect to")
    p.add_argument("--target", metavar="WET", help="effect runs: the wet recording of --input")
    p.add_argument("--decode", choices=["sample", "argmax", "mean"], default="argmax",
                   help="effect runs: how outputs are decoded (default %(default)s)")
    p.add_argument("--hits", type=cli.nonneg_int, default=8,
                   help="one-shot runs: hits generated per label for the comparison (default %(default)s)")
    p.add_argument("--max-seconds", type=cli.positive_float, default=120.0,
                   help="score at most this much held-out audio (default %(default)s)")
    p.add_argument("--split", type=cli.positive_float, metavar="SECONDS",
                   help="score long files as pieces of this length side by side (faster; each "
                        "piece starts from a fresh state instead of the state carried over)")
    p.add_argument("--lpc-order", type=cli.positive_int, default=32,
                   help="order of the linear-prediction baseline (default %(default)s)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--temperature", type=cli.positive_float, default=1.0)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    return p


def main(argv=None) -> int:
    args = make_parser().parse_args(argv)
    cli.setup_logging()

    def body():
        result = evaluate(args.run, dataset_dir=args.dataset, audio_files=args.audio,
                          generate_seconds=args.generate or 0.0, compare=args.compare,
                          max_seconds=args.max_seconds, lpc_order=args.lpc_order, seed=args.seed,
                          temperature=args.temperature, split_seconds=args.split or 0.0,
                          effect_input=args.input, effect_target=args.target, decode=args.decode,
                          hits_per_label=args.hits,
                          quiet=args.quiet)
        print(table(result))
        print(f"eval.json written to {Path(args.run) / 'eval.json'}")

    return cli.run(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
