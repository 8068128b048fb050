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
from audiornn.errors import AudioRNNError
from audiornn.model import load_run, model_config_from
from audiornn.step import Core

log = logging.getLogger("audiornn.generate")
PROG = "python -m audiornn.generate"
MINUS_1_DBFS = 10 ** (-1 / 20)


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

    @classmethod
    def from_run(cls, run_dir: str | os.PathLike, **kwargs) -> Generator:
        model, config = load_run(run_dir)
        return cls(model, config, **kwargs)

    # ------------------------------------------------------------ compiled loop

    def _loop(self, greedy: bool):
        if greedy in self._loops:
            return self._loops[greedy]
        core = self.core
        has_dry = core.dry_table is not None
        feedback = core.prev_table is not None

        def run(state, prev, dry, label_bias, temperature, seed, step0, n):
            codes = tf.TensorArray(tf.int32, size=n)
            def body(t, prev, state, codes):
                d = dry[:, t] if has_dry else None
                x0 = core.first_input(prev if feedback else None, d, label_bias)
                logits, state = core.step(x0, state)
                if greedy:
                    nxt = tf.argmax(logits, axis=-1, output_type=tf.int32)
                else:
                    s = tf.stack([seed, step0 + t])
                    nxt = tf.random.stateless_categorical(logits / temperature, 1, seed=s,
                                                          dtype=tf.int32)[:, 0]
                return t + 1, nxt, state, codes.write(t, nxt)

            _, prev, state, codes = tf.while_loop(
                lambda t, *_: t < n, body, (tf.constant(0), prev, state, codes))
            return tf.transpose(codes.stack()), prev, state

        fn = tf.function(run, jit_compile=self.jit, reduce_retracing=True)
        self._loops[greedy] = fn
        return fn

    # ------------------------------------------------------------ conditioning

    def mix_matrix(self, label: str | None, mix: dict[str, float] | None, batch: int):
        """(batch, n_labels) label weights, or None for a model without labels."""
        if not self.labels:
            if label or mix:
                raise AudioRNNError("this model has no labels (it was not trained on one-shots)")
            return None
        weights = np.zeros(len(self.labels))
        if mix:
            for name, w in mix.items():
                if name not in self.labels:
                    raise AudioRNNError(f"unknown label {name!r} (this model knows "
                                        f"{', '.join(self.labels)})")
                if not w > 0:
                    raise AudioRNNError(f"--mix weight of {name!r} must be > 0, got {w}")
                weights[self.labels.index(name)] = w
            weights /= weights.sum()
        else:
            name = label or self.labels[0]
            if name not in self.labels:
                raise AudioRNNError(f"unknown label {name!r} (this model knows "
                                    f"{', '.join(self.labels)})")
            weights[self.labels.index(name)] = 1.0
        return np.tile(weights, (batch, 1))

    def encode_prime(self, path: str | os.PathLike, max_seconds: float | None = None) -> np.ndarray:
        """Reads a file of any format/rate and preprocesses it like the training data."""
        x, rate = audio.read(path)
        if max_seconds:
            x = x[: int(max_seconds * rate)]
        y = dsp.resample(x, rate, self.sample_rate)
        if len(y) < 2:
            raise AudioRNNError(f"{path}: too short to prime with")
        codes, _ = dsp.encode(y, self.dsp["preemphasis"], self.dsp["gains"]["target"])
        return codes.astype(np.int32)

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
        label_bias = self.core.label_bias(mix, batch)
        state, prev = self.prime(prime_codes, batch, label_bias)
        loop = self._loop(bool(greedy))
        dry = tf.zeros((batch, 0), tf.int32)
        done = 0
        while done < n_steps:
            n = min(self.chunk, n_steps - done)
            codes, prev, state = loop(state, prev, dry, label_bias,
                                      tf.constant(float(temperature)),
                                      tf.constant(int(seed) % (2**31), tf.int32),
                                      tf.constant(done, tf.int32), tf.constant(n, tf.int32))
            done += n
            yield codes.numpy()
            if progress:
                progress(done)

    # ------------------------------------------------------------ files

    def write(self, out: str | os.PathLike, seconds: float = 4.0, num: int = 1,
              temperature: float = 1.0, greedy: bool = False, seed: int = 0,
              prime: str | os.PathLike | None = None, batch_size: int = 64,
              fmt: str = "pcm16", normalize: bool = False, label: str | None = None,
              mix: dict[str, float] | None = None, progress: bool = True) -> list[Path]:
        """Generates `num` files of `seconds` each; returns their paths.

        With num == 1, `out` is a file; otherwise a folder of numbered files.
        """
        if not seconds > 0:
            raise AudioRNNError(f"--seconds must be > 0, got {seconds}")
        if num < 1 or batch_size < 1:
            raise AudioRNNError("--num and --batch-size must be positive")
        out = Path(out)
        paths = _output_paths(out, num)
        prime_codes = self.encode_prime(prime) if prime else None
        n_steps = max(1, int(round(seconds * self.sample_rate)))
        bar = keras.utils.Progbar(n_steps * num, unit_name="sample") if progress else None
        writers = [_FloatStream(p, self.sample_rate, self.dsp) for p in paths]
        try:
            for g0 in range(0, num, batch_size):
                group = writers[g0:g0 + batch_size]
                b = len(group)
                m = self.mix_matrix(label, mix, b)
                base = g0 * n_steps

                def tick(done, base=base, b=b):
                    if bar:
                        bar.update(base + done * b)

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

    def __init__(self, path: Path, sample_rate: int, dsp_cfg: dict):
        self.path, self.rate = path, sample_rate
        self.coef = dsp_cfg["preemphasis"]
        self.gain = dsp_cfg["gains"]["target"]
        self.zi = None
        self.peak = 0.0
        fd, self.tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part.wav",
                                        dir=path.parent)
        os.close(fd)
        self.file = sf.SoundFile(self.tmp, "w", sample_rate, 1, "FLOAT", format="WAV")

    def append(self, codes: np.ndarray) -> None:
        x, self.zi = dsp.decode(codes, self.coef, self.gain, self.zi)
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
            with sf.SoundFile(final_tmp, "w", self.rate, 1, subtype, format="WAV") as f:
                for block in sf.blocks(self.tmp, blocksize=1 << 16, dtype="float32"):
                    y = block * scale
                    if fmt == "pcm16":
                        y = np.clip(y, -1.0, 1.0)
                    f.write(y)
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
    p.add_argument("--seconds", type=float, default=4.0, help="length of each file")
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
        if not args.seconds > 0:
            raise AudioRNNError(f"--seconds must be > 0, got {args.seconds}")
        if not args.temperature > 0:
            raise AudioRNNError(f"--temperature must be > 0, got {args.temperature}")
        if args.prime:
            audio.info(args.prime)
        gen = Generator.from_run(args.run)
        mix = parse_mix(args.mix) if args.mix else None
        paths = gen.write(args.out, seconds=args.seconds, num=args.num,
                          temperature=args.temperature, greedy=args.greedy, seed=args.seed,
                          prime=args.prime, batch_size=args.batch_size, fmt=args.fmt,
                          normalize=args.normalize, label=args.label, mix=mix,
                          progress=not args.quiet)
        where = paths[0] if len(paths) == 1 else f"{args.out}/ ({len(paths)} files)"
        print(f"wrote {where}: {args.seconds:g} s each at {gen.sample_rate} Hz")

    return cli.run(PROG, body)


if __name__ == "__main__":
    sys.exit(main())

__all__ = ["Generator", "main"]
