"""`python -m audiornn.generate RUN --out PATH`: sample audio from a trained run.

The recurrent state is carried from step to step (a window is never re-run).
Each chunk of steps is one call of a compiled `tf.while_loop` that samples on
the device with `tf.random.stateless_categorical`, for B streams at once.
Between chunks the codes are decoded (mu-law, gain, de-emphasis) and appended
to temporary float files, so a progress bar moves, Ctrl-C stops cleanly, and
output longer than memory streams to disk. Files are renamed into place only
when complete.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import tempfile
from pathlib import Path

import keras
import numpy as np
import soundfile as sf
import tensorflow as tf

from audiornn import audio, cli, dsp
from audiornn.dataset import encode_file, encoded_blocks
from audiornn.errors import AudioRNNError
from audiornn.model import load_run, model_config_from
from audiornn.step import Core

log = logging.getLogger("audiornn.generate")
PROG = "python -m audiornn.generate"
MINUS_1_DBFS = 10 ** (-1 / 20)


DECODE_MODES = ("sample", "argmax", "mean")


def _decode(logits, mode: str, temperature, seed, table):
    """Turns (B, 256) logits into (codes, decoded values) by one of DECODE_MODES."""
    if mode == "argmax":
        codes = tf.argmax(logits, axis=-1, output_type=tf.int32)
        return codes, tf.gather(table, codes)
    if mode == "sample":
        codes = tf.random.stateless_categorical(logits / temperature, 1, seed=seed,
                                                dtype=tf.int32)[:, 0]
        return codes, tf.gather(table, codes)
    probs = tf.nn.softmax(logits / temperature, axis=-1)
    values = tf.linalg.matvec(probs, table)
    return _mu_law_encode_tf(values), values


def _mu_law_encode_tf(x):
    """dsp.mu_law_encode in TensorFlow (the code fed back after a "mean" output)."""
    x = tf.clip_by_value(x, -1.0, 1.0)
    y = tf.sign(x) * tf.math.log1p(dsp.MU * tf.abs(x)) / np.log1p(dsp.MU)
    return tf.cast(tf.round((y + 1.0) / 2.0 * dsp.MU), tf.int32)


class Generator:
    """Samples codes from a trained model with a compiled step loop.

    Args:
      model: the trained Keras model.
      config: the run's config dict (config.json).
      chunk: steps per compiled call (progress and Ctrl-C granularity).
      jit: compile the loop with XLA.
    """

    def __init__(self, model: keras.Model, config: dict, chunk: int = 4000, jit: bool = True):
        self.config = config
        self.model_cfg = model_config_from(config)
        self.dsp = config["dsp"]
        self.core = Core(model, self.model_cfg)
        self.chunk = int(chunk)
        self.sample_rate = int(self.dsp["sample_rate"])
        self.labels = list(self.dsp.get("labels", []))
        self._loops = {}
        self.jit = jit
        self._values = tf.constant(dsp.mu_law_decode(np.arange(dsp.N_CLASSES)), tf.float32)

    @classmethod
    def from_run(cls, run_dir: str | os.PathLike, **kwargs) -> Generator:
        model, config = load_run(run_dir)
        return cls(model, config, **kwargs)

    # ------------------------------------------------------------ compiled loop

    def _loop(self, mode: str):
        """The compiled step loop for a decode mode: "sample", "argmax" or "mean".

        It returns the chosen codes and their decoded values (pre-emphasized,
        gained domain); "mean" outputs the expectation of the decoded values and
        feeds back the code nearest to it.
        """
        if mode in self._loops:
            return self._loops[mode]
        core = self.core
        has_dry = core.dry_table is not None
        feedback = core.prev_table is not None
        table = self._values

        def run(state, prev, dry, label_bias, temperature, seed, step0, n):
            codes = tf.TensorArray(tf.int32, size=n)
            values = tf.TensorArray(tf.float32, size=n)

            def body(t, prev, state, codes, values):
                d = dry[:, t] if has_dry else None
                x0 = core.first_input(prev if feedback else None, d, label_bias)
                logits, state = core.step(x0, state)
                nxt, val = _decode(logits, mode, temperature, tf.stack([seed, step0 + t]), table)
                return t + 1, nxt, state, codes.write(t, nxt), values.write(t, val)

            _, prev, state, codes, values = tf.while_loop(
                lambda t, *_: t < n, body, (tf.constant(0), prev, state, codes, values))
            return tf.transpose(codes.stack()), tf.transpose(values.stack()), prev, state

        fn = tf.function(run, jit_compile=self.jit, reduce_retracing=True)
        self._loops[mode] = fn
        return fn

    def _parallel(self, mode: str):
        """Input-only models: one pass over a whole chunk of dry codes (no feedback loop)."""
        key = ("parallel", mode)
        if key in self._loops:
            return self._loops[key]
        core, table = self.core, self._values

        def run(state, dry, label_bias, temperature, seed, step0):
            logits, state = core.run(None, dry, label_bias, state)
            b, n = tf.shape(logits)[0], tf.shape(logits)[1]
            flat = tf.reshape(logits, [b * n, -1])
            codes, values = _decode(flat, mode, temperature, tf.stack([seed, step0]), table)
            return tf.reshape(codes, [b, n]), tf.reshape(values, [b, n]), state

        fn = tf.function(run, jit_compile=self.jit, reduce_retracing=True)
        self._loops[key] = fn
        return fn

    # ------------------------------------------------------------ conditioning

    def mix_matrix(self, label: str | None, mix: dict[str, float] | None, batch: int):
        """(batch, n_labels) label weights, or None for a model without labels."""
        if not self.labels:
            if label or mix:
                raise AudioRNNError("this model has no labels (it was not trained on one-shots)")
            return None
        weights = np.zeros(len(self.labels))
        if mix and label:
            raise AudioRNNError("give --label or --mix, not both")
        if mix:
            for name, w in mix.items():
                if name not in self.labels:
                    raise AudioRNNError(f"unknown label {name!r} (this model knows "
                                        f"{', '.join(self.labels)})")
                if not (w >= 0 and np.isfinite(w)):
                    raise AudioRNNError(f"--mix weight of {name!r} must be >= 0, got {w}")
                weights[self.labels.index(name)] = w
            if not weights.sum() > 0:
                raise AudioRNNError("--mix weights must not all be 0")
            weights /= weights.sum()
        else:
            name = label or self.labels[0]
            if name not in self.labels:
                raise AudioRNNError(f"unknown label {name!r} (this model knows "
                                    f"{', '.join(self.labels)})")
            weights[self.labels.index(name)] = 1.0
        return np.tile(weights, (batch, 1))

    @property
    def oneshot(self) -> dict | None:
        """The one-shot settings (attack, length, ...) of a one-shot run, else None."""
        return self.dsp.get("oneshot")

    def encode_prime_hit(self, path: str | os.PathLike, after_peak: float = 0.01) -> np.ndarray:
        """A user's hit, aligned like the dataset's, up to `after_peak` seconds past its peak."""
        o = self.oneshot
        x, rate = audio.read(path)
        y = dsp.resample(x, rate, self.sample_rate)
        if not len(y) or float(np.max(np.abs(y))) <= 0:
            raise AudioRNNError(f"{path}: silent; cannot prime a hit with it")
        y = dsp.align_peak(y, int(o["attack_samples"]))
        n = min(int(o["length_samples"]) - 1,
                int(o["attack_samples"]) + int(round(after_peak * self.sample_rate)) + 1)
        y = dsp.fix_length(y, n)
        codes, _ = dsp.encode(y, self.dsp["preemphasis"], self.dsp["gains"]["target"])
        return codes.astype(np.int32)

    def encode_prime(self, path: str | os.PathLike) -> np.ndarray:
        """Reads a file of any format/rate and preprocesses it like the training data."""
        codes = encode_file(path, self.dsp)
        if len(codes) < 2:
            raise AudioRNNError(f"{path}: too short to prime with")
        return codes

    def prime(self, codes: np.ndarray, batch: int, label_bias):
        """Runs prime codes through the network; returns (state, prev) to continue from."""
        state = self.core.zero_state(batch)
        prev = np.full((batch,), dsp.SILENCE_CODE, np.int32)
        if codes is None or len(codes) == 0:
            return state, tf.constant(prev)
        seq = np.tile(codes[None, :], (batch, 1))
        if len(codes) > 1:
            _, state = self.core.run(tf.constant(seq[:, :-1]), None, label_bias, state,
                                     logits=False)
        return state, tf.constant(seq[:, -1])

    # ------------------------------------------------------------ sampling

    def sample(self, n_steps: int, batch: int = 1, temperature: float = 1.0,
               greedy: bool = False, seed: int = 0, prime_codes: np.ndarray | None = None,
               mix: np.ndarray | None = None, progress=None):
        """Yields (batch, m) int32 code chunks until n_steps codes per stream are made.

        Args:
          n_steps: codes per stream.
          batch: streams sampled together.
          temperature: > 0; logits are divided by it.
          greedy: take the argmax instead of sampling.
          seed: fixes the samples (same seed, same output on the same machine).
          prime_codes: codes to continue from (their state is built first).
          mix: (batch, n_labels) label weights for one-shot models.
          progress: a callable taking the number of steps done so far.
        """
        if not temperature > 0:
            raise AudioRNNError(f"--temperature must be > 0, got {temperature}")
        if self.core.dry_table is not None:
            raise AudioRNNError("this run models an effect: give --input DRY.wav to apply it")
        label_bias = self.core.label_bias(mix, batch)
        state, prev = self.prime(prime_codes, batch, label_bias)
        loop = self._loop("argmax" if greedy else "sample")
        dry = tf.zeros((batch, 0), tf.int32)
        done = 0
        while done < n_steps:
            n = min(self.chunk, n_steps - done)
            codes, _, prev, state = loop(state, prev, dry, label_bias,
                                      tf.constant(float(temperature)),
                                      tf.constant(int(seed) % (2**31), tf.int32),
                                      tf.constant(done, tf.int32), tf.constant(n, tf.int32))
            done += n
            yield codes.numpy()
            if progress:
                progress(done)

    # ------------------------------------------------------------ effects

    def apply_codes(self, dry_chunks, decode: str = "argmax", temperature: float = 1.0,
                    seed: int = 0, stepwise: bool = False):
        """Applies an effect model to a stream of dry code chunks (state carried across).

        Input-only models (trained with --no-feedback) run one parallel pass per
        chunk; models with feedback step through it. `stepwise` forces the step
        loop for either (a test hook). Yields (codes, values) per chunk, each
        (m,), values in the pre-emphasized, gained domain.
        """
        core = self.core
        if core.dry_table is None:
            raise AudioRNNError("this run was not trained on dry/wet pairs (no --input to apply)")
        if decode not in DECODE_MODES:
            raise AudioRNNError(f"--decode must be one of {', '.join(DECODE_MODES)}, got {decode!r}")
        if not temperature > 0:
            raise AudioRNNError(f"--temperature must be > 0, got {temperature}")
        label_bias = core.label_bias(None, 1)
        state = core.zero_state(1)
        prev = tf.constant([dsp.SILENCE_CODE], tf.int32)
        temp = tf.constant(float(temperature))
        seed_t = tf.constant(int(seed) % (2**31), tf.int32)
        done = 0
        for chunk in dry_chunks:
            dry = tf.constant(np.asarray(chunk, np.int32)[None, :])
            step0 = tf.constant(done, tf.int32)
            if core.prev_table is None and not stepwise:
                codes, values, state = self._parallel(decode)(state, dry, label_bias, temp,
                                                              seed_t, step0)
            else:
                codes, values, prev, state = self._loop(decode)(
                    state, prev, dry, label_bias, temp, seed_t, step0,
                    tf.constant(dry.shape[1], tf.int32))
            done += int(dry.shape[1])
            yield codes.numpy()[0], values.numpy()[0]

    def dry_code_chunks(self, path: str | os.PathLike):
        """A dry file's codes in chunks of `self.chunk`, preprocessed like the training input."""
        buf = np.zeros(0, np.int32)
        for codes in encoded_blocks(path, self.sample_rate, self.dsp["preemphasis"],
                                    self.dsp["gains"]["input"]):
            buf = np.concatenate([buf, codes.astype(np.int32)])
            while len(buf) >= self.chunk:
                yield buf[: self.chunk]
                buf = buf[self.chunk:]
        if len(buf):
            yield buf

    def apply(self, input_path: str | os.PathLike, out: str | os.PathLike, decode: str = "argmax",
              temperature: float = 1.0, seed: int = 0, fmt: str = "pcm16",
              normalize: bool = False, progress: bool = True, stepwise: bool = False,
              callback=None) -> Path:
        """Processes a dry file of any length and rate into a wet file at the input's rate."""
        info = audio.info(input_path)
        out = Path(out)
        audio.check_writable(out)
        if Path(input_path).resolve() == out.resolve():
            raise AudioRNNError(f"{out}: --out must not overwrite --input")
        n_model = dsp.resampled_length(info.n_frames, info.sample_rate_hz, self.sample_rate)
        bar = keras.utils.Progbar(n_model, unit_name="sample") if progress else None
        w = _FloatStream(out, self.sample_rate, self.dsp, out_rate=info.sample_rate_hz,
                         out_frames=info.n_frames)
        try:
            done = 0
            for _, values in self.apply_codes(self.dry_code_chunks(input_path), decode,
                                              temperature, seed, stepwise):
                w.append_values(values)
                done += len(values)
                if bar:
                    bar.update(min(done, n_model))
                if callback:
                    callback(min(done, n_model) / max(n_model, 1))
            w.finish(fmt, normalize)
        finally:
            w.discard()
        return out

    # ------------------------------------------------------------ files

    def write(self, out: str | os.PathLike, seconds: float | None = None, num: int = 1,
              temperature: float = 1.0, greedy: bool = False, seed: int = 0,
              prime: str | os.PathLike | None = None, batch_size: int = 64,
              fmt: str = "pcm16", normalize: bool = False, label: str | None = None,
              mix: dict[str, float] | None = None, progress: bool = True,
              callback=None) -> list[Path]:
        """Generates `num` files of `seconds` each; returns their paths.

        With num == 1, `out` is a file; otherwise a folder of numbered files.
        `seconds` defaults to 4, or to the hit length for one-shot runs, whose
        files start with the primed part of the hit (--prime) when one is given.
        """
        if seconds is None:
            seconds = self.oneshot["length"] if self.oneshot else 4.0
        if not seconds > 0:
            raise AudioRNNError(f"--seconds must be > 0, got {seconds}")
        if num < 1 or batch_size < 1:
            raise AudioRNNError("--num and --batch-size must be positive")
        out = Path(out)
        paths = _output_paths(out, num)
        self.mix_matrix(label, mix, 1)  # label errors before any work
        if prime and self.oneshot:
            prime_codes = self.encode_prime_hit(prime)
        else:
            prime_codes = self.encode_prime(prime) if prime else None
        n_steps = max(1, int(round(seconds * self.sample_rate)))
        head = prime_codes if (self.oneshot and prime_codes is not None) else None
        if head is not None:
            n_steps = max(1, n_steps - len(head))
        bar = keras.utils.Progbar(n_steps * num, unit_name="sample") if progress else None
        writers = [_FloatStream(p, self.sample_rate, self.dsp) for p in paths]
        try:
            if head is not None:
                for w in writers:
                    w.append(head)
            for g0 in range(0, num, batch_size):
                group = writers[g0:g0 + batch_size]
                b = len(group)
                m = self.mix_matrix(label, mix, b)
                base = g0 * n_steps

                def tick(done, base=base, b=b):
                    if bar:
                        bar.update(base + done * b)
                    if callback:
                        callback((base + done * b) / (n_steps * num))

                for codes in self.sample(n_steps, b, temperature, greedy, seed + g0, prime_codes,
                                         m, progress=tick):
                    for w, row in zip(group, codes):
                        w.append(row)
            for w in writers:
                w.finish(fmt, normalize)
        finally:
            for w in writers:
                w.discard()
        return paths


def _output_paths(out: Path, num: int) -> list[Path]:
    if num == 1:
        audio.check_writable(out)
        return [out]
    if out.exists() and not out.is_dir():
        raise AudioRNNError(f"{out}: exists and is not a folder (--num > 1 writes a folder)")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise AudioRNNError(f"{out}: cannot create the output folder ({e.strerror})") from None
    if not os.access(out, os.W_OK):
        raise AudioRNNError(f"{out}: output folder is not writable")
    width = max(2, len(str(num)))
    return [out / f"{k:0{width}d}.wav" for k in range(num)]


class _FloatStream:
    """Decodes code chunks and appends float32 audio to a temporary file beside the output."""

    def __init__(self, path: Path, sample_rate: int, dsp_cfg: dict, out_rate: int | None = None,
                 out_frames: int | None = None):
        self.path, self.rate = path, sample_rate
        self.out_rate, self.out_frames = out_rate or sample_rate, out_frames
        self.coef = dsp_cfg["preemphasis"]
        self.gain = dsp_cfg["gains"]["target"]
        self.zi = None
        self.peak = 0.0
        fd, self.tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part.wav",
                                        dir=path.parent)
        os.close(fd)
        self.file = sf.SoundFile(self.tmp, "w", sample_rate, 1, "FLOAT", format="WAV")

    def append(self, codes: np.ndarray) -> None:
        self.append_values(dsp.mu_law_decode(codes))

    def append_values(self, values: np.ndarray) -> None:
        """Appends decoded mu-law values (pre-emphasized, gained): undo the gain, de-emphasis."""
        x, self.zi = dsp.deemphasis(np.asarray(values, np.float64) / self.gain, self.coef, self.zi)
        self.peak = max(self.peak, float(np.max(np.abs(x))) if len(x) else 0.0)
        self.file.write(x.astype(np.float32))

    def finish(self, fmt: str, normalize: bool) -> None:
        self.file.close()
        scale = 1.0
        if normalize and self.peak > 0:
            scale = MINUS_1_DBFS / self.peak
        elif self.peak > 1.0:
            where = "clipped to full scale in the 16-bit file" if fmt == "pcm16" else \
                "kept (float file)"
            log.warning("%s: peak %+.1f dBFS is above full scale, %s; use --normalize",
                        self.path, 20 * math.log10(self.peak), where)
        subtype = {"pcm16": "PCM_16", "float": "FLOAT"}[fmt]
        fd, final_tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".wav",
                                         dir=self.path.parent)
        os.close(fd)
        try:
            rs = dsp.StreamResampler(self.rate, self.out_rate)
            left = self.out_frames

            def put(f, y):
                nonlocal left
                if left is not None:
                    y, left = y[:left], left - min(left, len(y))
                if fmt == "pcm16":
                    y = np.clip(y, -1.0, 1.0)
                f.write(y.astype(np.float32))

            with sf.SoundFile(final_tmp, "w", self.out_rate, 1, subtype, format="WAV") as f:
                for block in sf.blocks(self.tmp, blocksize=1 << 16, dtype="float32"):
                    put(f, rs.process(block * scale))
                put(f, rs.flush())
                if left:  # resampling rounds the length; pad to the input's exact length
                    put(f, np.zeros(left))
            os.replace(final_tmp, self.path)
        except BaseException:
            Path(final_tmp).unlink(missing_ok=True)
            raise

    def discard(self) -> None:
        if not self.file.closed:
            self.file.close()
        Path(self.tmp).unlink(missing_ok=True)


# ---------------------------------------------------------------- CLI


def parse_mix(text: str) -> dict[str, float]:
    out = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        if not sep or not name:
            raise AudioRNNError(f"--mix expects label=weight,label=weight, got {text!r}")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise AudioRNNError(f"--mix weight {value!r} is not a number") from None
    return out


def make_parser():
    p = cli.parser(PROG, "Generate audio from a trained run.")
    p.add_argument("run", metavar="RUN", help="a run directory (python -m audiornn.train)")
    p.add_argument("--out", required=True, help="output WAV (a folder when --num > 1)")
    p.add_argument("--input", metavar="DRY",
                   help="effect runs: process this file (any length, format and rate)")
    p.add_argument("--decode", choices=DECODE_MODES,
                   help="how a predicted distribution becomes a sample: sample, argmax, or mean "
                        "(the expected value); default argmax with --input, else sample")
    p.add_argument("--seconds", type=float, default=None,
                   help="length of each file (default 4; one-shots: the hit length)")
    p.add_argument("--num", type=cli.positive_int, default=1, help="number of streams/files")
    p.add_argument("--temperature", type=float, default=1.0,
                   help="> 0; below 1 is more conservative, above 1 wilder")
    p.add_argument("--greedy", action="store_true", help="always take the most likely code")
    p.add_argument("--prime", metavar="WAV", help="continue this audio (any format or rate)")
    p.add_argument("--seed", type=int, default=0, help="same seed, same output")
    p.add_argument("--batch-size", type=cli.positive_int, default=64,
                   help="streams per device step")
    p.add_argument("--format", choices=["pcm16", "float"], default="pcm16", dest="fmt",
                   help="16-bit integer (default) or 32-bit float WAV")
    p.add_argument("--normalize", action="store_true", help="scale each file's peak to -1 dBFS")
    p.add_argument("--label", help="one-shot models: the class to generate")
    p.add_argument("--mix", help="one-shot models: blend classes, e.g. kick=0.3,snare=0.7")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    return p


def main(argv=None) -> int:
    args = make_parser().parse_args(argv)
    cli.setup_logging()

    def body():
        if args.seconds is not None and not args.seconds > 0:
            raise AudioRNNError(f"--seconds must be > 0, got {args.seconds}")
        if not args.temperature > 0:
            raise AudioRNNError(f"--temperature must be > 0, got {args.temperature}")
        if args.prime:
            audio.info(args.prime)
        if args.input:
            audio.info(args.input)
            gen = Generator.from_run(args.run)
            if args.prime or args.label or args.mix or args.num > 1:
                raise AudioRNNError("--input applies an effect; --prime, --label, --mix and "
                                    "--num do not go with it")
            decode = args.decode or "argmax"
            out = gen.apply(args.input, args.out, decode=decode, temperature=args.temperature,
                            seed=args.seed, fmt=args.fmt, normalize=args.normalize,
                            progress=not args.quiet)
            print(f"wrote {out}: {args.input} through the effect ({decode} decoding)")
            return
        gen = Generator.from_run(args.run)
        if gen.core.dry_table is not None:
            raise AudioRNNError(f"{args.run}: this run models an effect; give --input DRY.wav")
        if args.decode == "mean":
            raise AudioRNNError("--decode mean applies to effects (--input); use sample or argmax")
        if args.decode == "argmax":
            args.greedy = True
        mix = parse_mix(args.mix) if args.mix else None
        paths = gen.write(args.out, seconds=args.seconds, num=args.num,
                          temperature=args.temperature, greedy=args.greedy, seed=args.seed,
                          prime=args.prime, batch_size=args.batch_size, fmt=args.fmt,
                          normalize=args.normalize, label=args.label, mix=mix,
                          progress=not args.quiet)
        where = paths[0] if len(paths) == 1 else f"{args.out}/ ({len(paths)} files)"
        seconds = sf.info(str(paths[0])).duration
        print(f"wrote {where}: {seconds:g} s each at {gen.sample_rate} Hz")

    return cli.run(PROG, body)


if __name__ == "__main__":
    sys.exit(main())

__all__ = ["Generator", "main"]
