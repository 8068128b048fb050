"""`generate()`: what the generate command does for a run's job: sample files, or apply the
run to an input file.

The work is in the runtime (runtime/sampler.py, runtime/effect.py, the
writer); the job gives the defaults; the command line is cli/generate.py.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import soundfile as sf

from audiornn import jobs
from audiornn.config import parse_mix, parse_pairs
from audiornn.data import audio
from audiornn.errors import AudioRNNError
from audiornn.runtime import hitmap, open_run
from audiornn.runtime.effect import Effect
from audiornn.runtime.sampler import Generator

log = logging.getLogger("audiornn.generate")


def _apply_float(effect: Effect, run: str, out: str, input_path: str | None, values: dict | None,
                 *, fmt: str, normalize: bool | str, others: bool, quiet: bool) -> str:
    """generate --input for a regression effect: `Effect` over the whole file."""
    if not input_path:
        raise AudioRNNError(f"{run}: this run models an effect; give --input DRY.wav")
    if others:
        raise AudioRNNError("--input applies a regression effect; --prime, --label, --mix, "
                            "--seconds, --num and --decode do not go with it")
    if values:
        effect.set_knobs(**values)
    path = effect.process_file(input_path, out, fmt=fmt, normalize=normalize, progress=not quiet)
    knobs = ", ".join(f"{k}={v:g}" for k, v in zip(effect.knob_names, effect.knobs))
    return f"wrote {path}: {input_path} through the effect" + (f" ({knobs})" if knobs else "")


def generate(run: str, out: str, *, input_path: str | None = None, decode: str | None = None,
             seconds: float | None = None, num: int = 1, temperature: float | None = None,
             greedy: bool = False, prime: str | None = None, seed: int = 0, batch_size: int = 64,
             fmt: str = "pcm16", normalize: bool | str | None = None, label: str | None = None,
             mix: str | None = None, cond: str | None = None, quiet: bool = False,
             at: str | None = None, like: str | None = None, spread: float = 0.1,
             floor: float | None = None, gate: float | None = None,
             top_p: float | None = None) -> str:
    """What `generate` does for the run's job: sample files, or apply the run to `input_path`.

    Returns a one-line summary of what was written.
    """
    if seconds is not None and not (seconds > 0 and seconds < 1e6):
        raise AudioRNNError(f"--seconds must be in (0, 1e6), got {seconds}")
    for f in (prime, input_path, like):
        if f:
            audio.info(f)
    values = parse_pairs(cond, "--knob/--cond") if cond else None
    gen = open_run(run)
    if isinstance(gen, Effect):  # a float head: the samples go out as they are
        normalize = False if normalize is None else normalize
        return _apply_float(gen, run, out, input_path, values, fmt=fmt, normalize=normalize,
                            others=bool(prime or label or mix or num > 1 or seconds is not None
                                        or decode), quiet=quiet)
    job = jobs.get(gen.config.job.name)
    temperature = job.temperature if temperature is None else temperature
    floor = job.floor if floor is None else floor
    top_p = job.top_p if top_p is None else top_p
    gate = job.gate_db if gate is None else gate
    normalize = job.level if normalize is None else normalize
    if gen.applies:
        if not input_path:
            raise AudioRNNError(f"{run}: this run models an effect; give --input DRY.wav")
        if prime or label or mix or num > 1 or seconds is not None:
            raise AudioRNNError("--input applies an effect; --prime, --label, --mix, --seconds "
                                "and --num do not go with it")
        decode = decode or "argmax"
        path = gen.apply(input_path, out, decode=decode, temperature=temperature, seed=seed,
                         fmt=fmt, normalize=normalize, progress=not quiet, values=values)
        return f"wrote {path}: {input_path} through the effect ({decode} decoding)"
    if input_path:
        raise AudioRNNError(f"{run}: --input applies effect runs; this run generates audio")
    if decode == "mean":
        raise AudioRNNError("--decode mean applies to effects (--input); use sample or argmax")
    points, placed, envelopes, weights = None, "", None, None
    if at or like:
        points, label, weights, placed = _map_points(gen, at, like, prime, label, mix, num,
                                                     spread, seed)
    if like and gen.envelope is not None:  # variations of the dropped hit follow its level
        envelopes = np.tile(hitmap.hit_envelope(like, gen.config), (num, 1))
    paths = gen.write(out, seconds=seconds, num=num, temperature=temperature,
                      greedy=greedy or decode == "argmax", seed=seed, prime=prime,
                      batch_size=batch_size, fmt=fmt, normalize=normalize, label=label,
                      mix=parse_mix(mix) if mix else None, values=values, progress=not quiet,
                      points=points, floor=floor, gate_db=gate, top_p=top_p, envelopes=envelopes,
                      label_weights=weights)
    seconds = f"{sf.info(str(paths[0])).duration:g} s"
    if len(paths) == 1:
        return placed + f"wrote {paths[0]}: {seconds} at {gen.sample_rate} Hz"
    where = f"{out}/" if paths[0].parent == Path(out) else f"{paths[0]} .. {paths[-1].name}"
    return placed + f"wrote {len(paths)} files, {where}: {seconds} each at {gen.sample_rate} Hz"


def _map_points(gen: Generator, at, like, prime, label, mix, num: int, spread: float, seed: int):
    """--at / --like on a one-shot map: (num points, the label to use, the label blend to use
    instead (--at with neither --label nor --mix: the hits nearest each point's), a line on
    the placement)."""
    if at and like:
        raise AudioRNNError("give --at or --like, not both")
    if prime:
        raise AudioRNNError("--prime starts from a hit's first milliseconds; --at and --like "
                            "choose a point of the map instead: give one of them")
    hm = gen.map()
    placed = ""
    if at:
        centre = hitmap.parse_point(at, hm.dim)
        lo, hi = hm.bounds()
        if np.any(centre < lo) or np.any(centre > hi):
            extent = ", ".join(f"{a:.2f}..{b:.2f}" for a, b in zip(lo, hi))
            log.warning("--at %s is outside the map (its hits span %s): the model has heard "
                        "nothing like it there, expect noise", at, extent)
        fitted = None
    else:
        res = hitmap.place(gen.model, gen.config, like)
        centre, k = res["point"], res["nearest"]
        fitted = gen.labels[res["label"]] if res["label"] >= 0 else None
        placed = (f"placed {like} at ({', '.join(f'{v:.3f}' for v in centre)}): "
                  f"{res['bits']:.3f} bits/sample, nearest training hit {hm.names[k]}"
                  + (f" ({hm.label_of(k)})" if hm.label_of(k) else "") + "\n")
    points = hitmap.variations(centre, num, spread, hm.radius, seed)
    weights = hm.label_weights(points) if at and not (label or mix) else None
    return points, label or (None if mix else fitted), weights, placed
