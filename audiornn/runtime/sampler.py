"""The compiled generation loop: sample a run's model, or apply it to an input, step by step.

The recurrent state is carried from step to step (a window is never re-run).
Each chunk of steps is one call of a compiled loop (`keras.ops.fori_loop`,
XLA-compiled on TensorFlow or JAX: backend.py) that samples on the device by
inverse CDF from uniform numbers drawn per chunk with Keras' seeded random
ops, for B streams at once. The
loop iterates over the model's declared streams: the feedback stream gets the
code just chosen, every other per-step stream its given value at that step,
and every per-sequence stream is folded into one bias before the loop.
Between chunks the codes are decoded and appended to the audio writers, so a
progress bar moves, Ctrl-C stops cleanly, and long output streams to disk.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import keras
import numpy as np
from keras import ops

from audiornn import cores, dsp, streams
from audiornn.config import RunConfig
from audiornn.cores import make_core
from audiornn.data import audio
from audiornn.distribute import backend
from audiornn.errors import AudioRNNError
from audiornn.progress import Progress
from audiornn.runtime import envelopes
from audiornn.runtime.hitmap import hit_envelope, hit_shape
from audiornn.runtime.model import load_run
from audiornn.runtime.writer import AudioWriter, output_paths, report_levels

DECODE_MODES = ("sample", "argmax", "mean")


def _nucleus(probs, top_p, iterations: int = 16):
    """Nucleus (top-p) sampling's cut, (B, 1): the largest probability t such that the
    codes at least as likely as t hold at least `top_p` of the mass. Found by bisection
    on [0, max] (no sort: 16 vectorized halvings); top_p 1 keeps every code."""
    lo = ops.zeros_like(probs[:, :1])
    hi = ops.max(probs, axis=-1, keepdims=True)
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        kept = ops.sum(ops.where(probs >= mid, probs, 0.0), axis=-1, keepdims=True)
        ok = kept >= top_p
        lo, hi = ops.where(ok, mid, lo), ops.where(ok, hi, mid)
    return lo


def _decode(logits, mode: str, temperature, u, table, floor=0.0, top_p=1.0):
    """Turns (B, 256) logits into (codes, decoded values) by one of DECODE_MODES.

    temperature: logits are divided by it.
    u: (B,) uniform numbers in [0, 1) (sampling only).
    floor: sampling subtracts it from every class's probability and
      renormalizes (LPCNet's cut of the noise floor: the many unlikely codes
      that together add noise), never more than half the likeliest class's.
    top_p: mode "nucleus" (sampling with a top-p cut, a loop of its own so that
      plain sampling does not pay for the cut): only the likeliest codes that
      together hold this share of the probability are drawn from.
    """
    if mode == "argmax":
        codes = ops.cast(ops.argmax(logits, axis=-1), "int32")
        return codes, ops.take(table, codes, axis=0)
    probs = ops.softmax(logits / temperature, axis=-1)
    if mode in ("sample", "nucleus"):
        # Inverse-CDF sampling: one uniform number per stream. On a 2-core CPU it
        # made the loop 1.5x (flat) to 2.8x (tiered) faster than a categorical
        # draw, which takes one number per class.
        if mode == "nucleus":  # its bisection costs the loop 10-18% (bench_compare.sh)
            probs = ops.where(probs >= _nucleus(probs, top_p), probs, 0.0)
        cut = ops.minimum(floor, 0.5 * ops.max(probs, axis=-1, keepdims=True))
        cdf = ops.cumsum(ops.maximum(probs - cut, 0.0), axis=-1)
        codes = ops.sum(ops.cast(cdf < ops.expand_dims(u, 1) * cdf[:, -1:], "int32"), axis=-1)
        codes = ops.minimum(codes, dsp.N_CLASSES - 1)
        return codes, ops.take(table, codes, axis=0)
    values = ops.matmul(probs, table)
    return ops.cast(dsp.mu_law_levels(values, xp=ops), "int32"), values


def _params(temperature: float, floor: float = 0.0, top_p: float = 1.0):
    """The sampling parameters as the compiled loops take them (one tensor: no recompiles)."""
    _check_temperature(temperature)
    if not 0.0 < top_p <= 1.0:
        raise AudioRNNError(f"--top-p must be in (0, 1], got {top_p}")
    if not 0.0 <= floor < 1.0 / dsp.N_CLASSES:
        raise AudioRNNError(f"--floor must be in [0, {1 / dsp.N_CLASSES:g}) (a probability below "
                            f"the uniform one), got {floor}")
    return ops.convert_to_tensor(np.array([temperature, floor, top_p], np.float32))


def uniforms(seed: int, chunk: int, n: int, batch: int):
    """The uniform numbers of one chunk of sampling, (n, batch): Keras' seeded random ops,
    a fixed function of (seed, chunk index) on a given backend."""
    return keras.random.uniform((n, batch), seed=int(seed) % (2**31) * 1009 + int(chunk))


def _envelope_piece(envelope: np.ndarray, a: int, n: int):
    """(batch, n, 1) the envelope stream's values of steps a .. a + n - 1 (the last value
    held past the end)."""
    e = np.asarray(envelope, np.float32)
    idx = np.minimum(np.arange(a, a + n), e.shape[1] - 1)
    return ops.convert_to_tensor(e[:, idx, None])


def _check_temperature(temperature: float) -> None:
    if not (1e-3 <= temperature <= 100):  # below, logits / T overflow; above, pure noise
        raise AudioRNNError(f"--temperature must be in [0.001, 100], got {temperature}")


class Generator:
    """Samples codes from a trained model with a compiled step loop, or applies it to an input.

    Args:
      model: the trained Keras model.
      config: the run's configuration.
      chunk: steps per compiled call (progress and Ctrl-C granularity).
      jit: compile the loop with XLA.
    """

    def __init__(self, model: keras.Model, config: RunConfig, chunk: int = 4000, jit: bool = True):
        self.config, self.model = config, model
        self.codec = config.codec
        self.core = make_core(model, config.model)
        self.chunk = int(chunk)
        self.sample_rate = int(self.codec.sample_rate)
        self.labels = list(config.job.labels)
        self.layout = config.job.layout
        self._loops: dict = {}
        self.jit = jit
        self._values = ops.convert_to_tensor(self.codec.values().astype(np.float32))
        position = streams.find(config.model.streams, "computed")  # the step's place in a hit
        self.position = position.name if position else None
        self.position_scale = 1.0 / (self.layout.length_samples if self.layout else 1)
        self.latent = streams.find(config.model.streams, "map")
        self.envelope = streams.find(config.model.streams, "envelope")  # the hit's level per step
        self.applies = config.model.applies

    @classmethod
    def from_run(cls, run_dir: str | os.PathLike, **kwargs) -> Generator:
        model, config = load_run(run_dir)
        return cls(model, config, **kwargs)

    # ------------------------------------------------------------ compiled loops

    def _loop(self, mode: str):
        """The compiled step loop for a decode mode: "sample", "nucleus", "argmax" or "mean".

        Its inputs: the state, the previous codes (B,), the other per-step
        inputs (B, n) by name, the per-sequence bias, the sampling parameters
        (`_params`: temperature and floor), the chunk's uniform numbers (n, B)
        (which also fix n) and the position of its first step. It returns the
        chosen codes and their decoded values (pre-emphasized, gained domain),
        each (B, n), and the last code and state to continue from; "mean"
        outputs the expectation of the decoded values and feeds back the code
        nearest to it.
        """
        if mode in self._loops:
            return self._loops[mode]
        core, table = self.core, self._values
        position, scale = self.position, self.position_scale
        envelope = self.envelope.name if self.envelope else None

        def run(state, prev, given, bias, params, u, pos0):
            n, b = ops.shape(u)[0], ops.shape(prev)[0]

            def body(t, carry):
                prev, state, codes, values = carry
                inputs = {name: v[:, t] for name, v in given.items()}
                if core.feedback:
                    inputs[core.feedback] = prev
                if position:  # the step's place within the hit
                    inputs[position] = ops.full((b, 1), ops.cast(pos0 + t, "float32") * scale)
                logits, state = core.step(inputs, bias, state)
                nxt, val = _decode(logits, mode, params[0], u[t], table, params[1], params[2])
                if envelope:  # where the hit is silent (its envelope on the floor), silence,
                    live = inputs[envelope][:, 0] > 0  # as the data holds there (unscored)
                    nxt = ops.where(live, nxt, dsp.SILENCE_CODE)
                    val = ops.where(live, val, table[dsp.SILENCE_CODE])
                codes = ops.slice_update(codes, (t, 0), ops.expand_dims(nxt, 0))
                values = ops.slice_update(values, (t, 0), ops.expand_dims(val, 0))
                return nxt, state, codes, values

            init = (prev, state, ops.zeros((n, b), "int32"), ops.zeros((n, b), "float32"))
            prev, state, codes, values = ops.fori_loop(0, n, body, init)
            return ops.transpose(codes), ops.transpose(values), prev, state

        fn = backend.jit(run) if self.jit else run
        self._loops[mode] = fn
        return fn

    def _parallel(self, mode: str):
        """Input-only models: one pass over a whole chunk of inputs (no feedback loop)."""
        key = ("parallel", mode)
        if key in self._loops:
            return self._loops[key]
        core, table = self.core, self._values

        def run(state, given, bias, params, u):
            logits, state = core.run(given, bias, state)
            b, n = ops.shape(logits)[0], ops.shape(logits)[1]
            flat = ops.reshape(logits, (b * n, -1))
            codes, values = _decode(flat, mode, params[0], ops.reshape(u, (-1,)), table, params[1],
                                    params[2])
            return ops.reshape(codes, (b, n)), ops.reshape(values, (b, n)), state

        fn = backend.jit(run) if self.jit else run
        self._loops[key] = fn
        return fn

    # ------------------------------------------------------------ conditioning

    def mix_matrix(self, label: str | None, mix: dict[str, float] | None, batch: int):
        """(batch, n_labels) label weights, or None for a model without labels."""
        if not self.labels:
            if label or mix:
                raise AudioRNNError("this model has no labels (it was not trained on labelled hits)")
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

    def conditions(self, values: dict[str, list[float]] | None, batch: int,
                   mix: np.ndarray | None = None) -> dict:
        """The per-sequence streams' values: the label weights, every vector, the map's point.

        A vector left out takes the middle of the values seen in training; a
        map's point ("latent": (dim,) or (batch, dim)) left out, the mean point
        of the chosen label's (or blend's) training hits.
        """
        values = dict(values or {})
        known = [s.name for s in self.core.sequence_streams if s.behaviour.knob or s.behaviour.map]
        for name in values:
            if name not in known:
                raise AudioRNNError(f"unknown condition {name!r} (this model takes "
                                    f"{', '.join(known) or 'none'})")
        context = SimpleNamespace(config=self.config, mix=mix, map=self.map)
        out = {}
        for s in self.core.sequence_streams:
            v = s.behaviour.condition(s, values.get(s.name), batch, context)
            if v is not None:
                out[s.name] = v
        return out

    def map(self):
        """The run's map of training hits (one-shot runs trained with --latent-dim)."""
        from audiornn.runtime.hitmap import HitMap

        if self.latent is None:
            raise AudioRNNError("this run has no map of hits (train a one-shot run with "
                                "--latent-dim 2, the default)")
        return HitMap.from_table(self.core.latent_points, self.config)

    def encode_prime_hit(self, path: str | os.PathLike, after_peak: float = 0.01) -> np.ndarray:
        """A user's hit, aligned like the dataset's, up to `after_peak` seconds past its peak
        (past `attack` where that is later)."""
        o = self.layout
        x, rate = audio.read(path)
        y = dsp.resample(x, rate, self.sample_rate)
        if not len(y) or float(np.max(np.abs(y))) <= 0:
            raise AudioRNNError(f"{path}: silent; cannot prime a hit with it")
        y = dsp.align_hit(y, o.attack_samples, o.align)
        y = y * dsp.output_gain(float(np.max(np.abs(y))), o.hit_level)
        peak = max(o.attack_samples, dsp.hit_mark(y, "peak"))
        n = min(o.length_samples - 1, peak + int(round(after_peak * self.sample_rate)) + 1)
        shape = hit_shape(dsp.fix_length(y, o.length_samples), self.config)  # as the codes hold it
        codes, _ = self.codec.encode(shape[:n])
        return codes.astype(np.int32)

    def encode_prime(self, path: str | os.PathLike) -> np.ndarray:
        """Reads a file of any format/rate and preprocesses it like the training data."""
        codes = self.codec.encode_file(path)
        if len(codes) < 2:
            raise AudioRNNError(f"{path}: too short to prime with")
        return codes

    def prime(self, codes: np.ndarray | None, batch: int, bias, envelope: np.ndarray | None = None):
        """Runs prime codes through the network; returns (state, prev) to continue from.
        `envelope` (batch, steps): the envelope stream's values from step 0 (its models).

        The codes go through the core's sequence run (teacher forcing: one
        parallel pass per chunk, compiled), `self.chunk` codes at a time with
        the state carried, so memory stays bounded however long the prime is.
        """
        state = self.core.zero_state(batch)
        prev = np.full((batch,), dsp.SILENCE_CODE, np.int32)
        if codes is None or len(codes) == 0:
            return state, ops.convert_to_tensor(prev)
        if "prime" not in self._loops:
            core = self.core
            self._loops["prime"] = backend.jit(
                lambda inputs, bias, state: core.run(inputs, bias, state, logits=False)[1])
        run = self._loops["prime"]
        inputs_all = np.asarray(codes[:-1], np.int32)
        # A chunk ends on a frame boundary, where the tiered core's run continues exactly.
        frame = cores.granularity(self.config.model)
        step = max(frame, self.chunk // frame * frame)
        for a in range(0, len(inputs_all), step):
            piece = inputs_all[a:a + step]
            inputs = {self.core.feedback: ops.convert_to_tensor(np.tile(piece[None], (batch, 1)))}
            if self.position:  # code k is the input of step k + 1
                pos = streams.position_values(a + 1, len(piece), self.position_scale)
                inputs[self.position] = ops.convert_to_tensor(np.tile(pos[None, :, None], (batch, 1, 1)))
            if self.envelope:
                inputs[self.envelope.name] = _envelope_piece(envelope, a + 1, len(piece))
            state = run(inputs, bias, state)
        return state, ops.convert_to_tensor(np.full((batch,), codes[-1], np.int32))

    # ------------------------------------------------------------ sampling

    def sample(self, n_steps: int, batch: int = 1, temperature: float = 1.0,
               greedy: bool = False, seed: int = 0, prime_codes: np.ndarray | None = None,
               mix: np.ndarray | None = None, values: dict | None = None, progress=None,
               floor: float = 0.0, top_p: float = 1.0, envelope: np.ndarray | None = None):
        """Yields (batch, m) int32 code chunks until n_steps codes per stream are made.

        Args:
          n_steps: codes per stream.
          batch: streams sampled together.
          temperature: > 0; logits are divided by it.
          greedy: take the argmax instead of sampling.
          seed: fixes the samples (same seed, same output on the same machine).
          prime_codes: codes to continue from (their state is built first).
          mix: (batch, n_labels) label weights for labelled models.
          values: per-sequence condition name -> values (see `conditions`).
          progress: a callable taking the number of steps done so far.
          floor: the probability floor cut at each step (see `_decode`; 0: none).
          top_p: nucleus sampling's share (see `_decode`; 1: none).
          envelope: (batch, steps) the hit's level from step 0, primed steps included
            (runtime/envelopes.py; models with the envelope stream only).
        """
        temp = _params(temperature, floor, top_p)
        if self.applies or self.core.feedback is None:
            raise AudioRNNError("this run models an effect: give --input DRY.wav to apply it")
        others = [s.name for s in self.core.step_streams if s.given]
        if others:
            raise AudioRNNError(f"this model needs per-step inputs ({', '.join(others)}) to sample")
        if self.envelope is not None and envelope is None:
            raise AudioRNNError("this model follows an envelope: give one per hit")
        bias = self.core.sequence_bias(self.conditions(values, batch, mix), batch)
        state, prev = self.prime(prime_codes, batch, bias, envelope)
        loop = self._loop("argmax" if greedy else "nucleus" if top_p < 1 else "sample")
        done = 0
        pos0 = 0 if prime_codes is None else len(prime_codes)
        while done < n_steps:
            n = min(self.chunk, n_steps - done)
            u = uniforms(seed, done // self.chunk, n, batch)
            given = {self.envelope.name: _envelope_piece(envelope, pos0 + done, n)} \
                if self.envelope else {}
            codes, _, prev, state = loop(state, prev, given, bias, temp, u,
                                         ops.convert_to_tensor(np.int32(pos0 + done)))
            done += n
            yield np.asarray(codes)
            if progress:
                progress(done)

    # ------------------------------------------------------------ applying to an input

    def apply_codes(self, dry_chunks, decode: str = "argmax", temperature: float = 1.0,
                    seed: int = 0, stepwise: bool = False, values: dict | None = None):
        """Applies an effect model to a stream of input code chunks (state carried across).

        Input-only models run one parallel pass per chunk; models with feedback
        step through it. `stepwise` forces the step loop for either (a test
        hook). Yields (codes, values) per chunk, each (m,), values in the
        pre-emphasized, gained domain.
        """
        core = self.core
        if not self.applies:
            raise AudioRNNError("this run was not trained on dry/wet pairs (no --input to apply)")
        if decode not in DECODE_MODES:
            raise AudioRNNError(f"--decode must be one of {', '.join(DECODE_MODES)}, got {decode!r}")
        temp = _params(temperature)
        bias = core.sequence_bias(self.conditions(values, 1), 1)
        state = core.zero_state(1)
        prev = ops.convert_to_tensor(np.array([dsp.SILENCE_CODE], np.int32))
        inputs = [s.name for s in core.step_streams if not s.feedback]
        done = 0
        for k, chunk in enumerate(dry_chunks):
            given = {name: ops.convert_to_tensor(np.asarray(chunk, np.int32)[None, :])
                     for name in inputs}
            u = uniforms(seed, k, len(chunk), 1)
            if core.feedback is None and not stepwise:
                codes, vals, state = self._parallel(decode)(state, given, bias, temp, u)
            else:
                codes, vals, prev, state = self._loop(decode)(
                    state, prev, given, bias, temp, u, ops.convert_to_tensor(np.int32(done)))
            done += len(chunk)
            yield np.asarray(codes)[0], np.asarray(vals)[0]

    def dry_code_chunks(self, path: str | os.PathLike):
        """A dry file's codes in chunks of `self.chunk`, preprocessed like the training input."""
        buf = np.zeros(0, np.int32)
        for codes in self.codec.encode_blocks(path, "input"):
            buf = np.concatenate([buf, codes.astype(np.int32)])
            while len(buf) >= self.chunk:
                yield buf[: self.chunk]
                buf = buf[self.chunk:]
        if len(buf):
            yield buf

    def apply(self, input_path: str | os.PathLike, out: str | os.PathLike, decode: str = "argmax",
              temperature: float = 1.0, seed: int = 0, fmt: str = "pcm16",
              normalize: bool | str = False, progress: bool = True, stepwise: bool = False,
              callback=None, values: dict | None = None) -> Path:
        """Processes a dry file of any length and rate into a wet file at the input's rate."""
        info = audio.info(input_path)
        out = Path(out)
        audio.check_writable(out)
        if Path(input_path).resolve() == out.resolve():
            raise AudioRNNError(f"{out}: --out must not overwrite --input")
        n_model = dsp.resampled_length(info.n_frames, info.sample_rate_hz, self.sample_rate)
        tick = Progress(n_model, "sample", quiet=not progress, callback=callback,
                        per_second=self.sample_rate)
        w = AudioWriter(out, self.codec, out_rate=info.sample_rate_hz, out_frames=info.n_frames)
        try:
            done = 0
            for _, vals in self.apply_codes(self.dry_code_chunks(input_path), decode,
                                            temperature, seed, stepwise, values):
                w.append_values(vals)
                done += len(vals)
                tick(done)
            w.finish(fmt, normalize)
            report_levels([w.level], fmt)
        finally:
            w.discard()
        return out

    # ------------------------------------------------------------ files

    def write(self, out: str | os.PathLike, seconds: float | None = None, num: int = 1,
              temperature: float = 1.0, greedy: bool = False, seed: int = 0,
              prime: str | os.PathLike | None = None, batch_size: int = 64,
              fmt: str = "pcm16", normalize: bool | str = False, label: str | None = None,
              mix: dict[str, float] | None = None, values: dict | None = None,
              progress: bool = True, callback=None, points: np.ndarray | None = None,
              label_weights: np.ndarray | None = None, report: bool = True,
              floor: float = 0.0, gate_db: float = 0.0, top_p: float = 1.0,
              envelopes: np.ndarray | None = None) -> list[Path]:
        """Generates `num` files of `seconds` each; returns their paths.

        With num == 1, `out` is a file; otherwise a folder of numbered files.
        `points` (num, dim): one-shot runs with a map: each file's point;
        `label_weights` (num, n_labels): each file's label blend (instead of
        `label`/`mix`). `report`: one line on the files' level changes (see
        writer.report_levels). `gate_db` > 0: runs with a one-shot layout end each hit
        once it has fallen that far below its peak or before it fires again (dsp.end_hit;
        0: the model alone). `envelopes` (num, steps): models with the envelope stream,
        each file's level per step (default: `hit_envelopes`).
        `seconds` defaults to 4, or to the hit length for runs with a one-shot
        layout, whose files start with the primed part of the hit (--prime).
        """
        if seconds is None:
            seconds = self.layout.length if self.layout else 4.0
        if not (seconds > 0 and np.isfinite(seconds)):
            raise AudioRNNError(f"--seconds must be a finite number > 0, got {seconds}")
        if num < 1 or batch_size < 1:
            raise AudioRNNError("--num and --batch-size must be positive")
        _params(temperature, floor, top_p)  # errors before any work
        out = Path(out)
        self.mix_matrix(label, mix, 1)  # label and condition errors before any work
        self.conditions(values, 1)
        paths = output_paths(out, num)
        if prime and self.layout:
            prime_codes = self.encode_prime_hit(prime)
        else:
            prime_codes = self.encode_prime(prime) if prime else None
        n_steps = max(1, int(round(seconds * self.sample_rate)))
        head = prime_codes if (self.layout and prime_codes is not None) else None
        if head is not None:
            n_steps = max(1, n_steps - len(head))
        if self.envelope is not None and envelopes is None:
            total = n_steps + (0 if head is None else len(head))
            envelopes = np.tile(hit_envelope(prime, self.config), (num, 1)) if head is not None \
                else self.hit_envelopes(num, total, points, label_weights, label, mix, values)
        shaped = self.envelope is not None and self.layout is not None and self.layout.envelope
        bar = Progress(n_steps * num, "sample", quiet=not progress, callback=callback,
                       per_second=self.sample_rate)
        written: list[AudioWriter] = []
        for g0 in range(0, num, batch_size):  # one group's files open at a time
            gate = gate_db if self.layout else 0.0
            group = [AudioWriter(p, self.codec, gate_db=gate,
                                 shape=dsp.envelope_gain(envelopes[g0 + i]) if shaped else None,
                                 end_after=self.layout.attack_samples if self.layout else 0)
                     for i, p in enumerate(paths[g0:g0 + batch_size])]
            try:
                if head is not None:
                    for w in group:
                        w.append(head)
                b = len(group)
                m = (self.mix_matrix(label, mix, b) if label_weights is None
                     else np.asarray(label_weights[g0:g0 + b], np.float64))
                vals = values if points is None else {**(values or {}),
                                                       "latent": points[g0:g0 + b]}

                def tick(done, base=g0 * n_steps, b=b):
                    bar(base + done * b)

                env = None if envelopes is None else np.asarray(envelopes)[g0:g0 + b]
                done = 0
                for codes in self.sample(n_steps, b, temperature, greedy, seed + g0, prime_codes,
                                         m, vals, progress=tick, floor=floor, top_p=top_p,
                                         envelope=env):
                    for w, row in zip(group, codes):
                        w.append(row)
                    done += codes.shape[1]
                    if gate and done < n_steps and all(w.ended for w in group):
                        for w in group:  # every hit has ended: the rest is silence
                            w.append_values(np.zeros(n_steps - done, np.float32))
                        tick(n_steps)
                        break
                for w in group:
                    w.finish(fmt, normalize)
                written += group
            finally:
                for w in group:
                    w.discard()
        if report:
            report_levels([w.level for w in written], fmt)
        return paths

    def hit_envelopes(self, num: int, n: int, points=None, label_weights=None, label=None,
                      mix=None, values=None) -> np.ndarray:
        """(num, n) the level each generated hit follows (runtime/envelopes.py): the training
        hits' near its point of the map (given, or the label's centre), else its label's."""
        weights = (self.mix_matrix(label, mix, num) if label_weights is None
                   else np.asarray(label_weights, np.float64))
        if self.latent is not None:
            hm = self.map()
            if points is None:
                given = (values or {}).get("latent")
                points = np.tile(hm.centroid(None if weights is None else weights[0]), (num, 1)) \
                    if given is None else np.broadcast_to(np.asarray(given, np.float64), (num, hm.dim))
            frames = envelopes.at_points(self.config, hm.points, points)
        else:
            frames = envelopes.for_labels(self.config, weights, num)
        return envelopes.steps(frames, self.sample_rate, n)

    def preview(self, out: Path, seconds: float, seed: int, dataset=None) -> Path:
        """A short preview of what the model does: sampled audio, or for models that apply
        to an input, the first validation (else training) input run through it."""
        if not self.applies:
            return self.write(out, seconds=seconds, seed=seed, progress=False)[0]
        segs = dataset.split("val") or dataset.split("train")
        s = segs[0]
        n = min(s.length, int(seconds * self.sample_rate))
        dry = np.asarray(dataset.streams["input"][s.offset:s.offset + n], np.int32)
        w = AudioWriter(out, self.codec)
        try:
            chunks = [dry[k:k + self.chunk] for k in range(0, n, self.chunk)]
            for _, vals in self.apply_codes(chunks, seed=seed):
                w.append_values(vals)
            w.finish("pcm16", False)
        finally:
            w.discard()
        return out
