"""The runtime: a trained run opened for use, whatever its core and head.

`open_run(path)` loads a run and gives its engine: a `Generator` (sampler.py)
for the 256-class head, which samples, applies to an input file or a live
stream of codes, and primes; an `Effect` (effect.py) for a float head, which
streams blocks of samples with `process` (the public streaming API) and
applies to files. Both carry their recurrent state between calls; `Scorer`
(scoring.py) scores code sequences with either core.
"""

from __future__ import annotations

import os

from audiornn import heads
from audiornn.runtime.effect import Effect
from audiornn.runtime.model import load_run
from audiornn.runtime.sampler import Generator
from audiornn.runtime.scoring import Scorer

__all__ = ["Effect", "Generator", "Scorer", "open_run"]


def open_run(run_dir: str | os.PathLike, **kwargs) -> Generator | Effect:
    """A run's engine: an Effect for a head with float output, else a Generator."""
    model, config = load_run(run_dir)
    if heads.get(config.model.head).float_output:
        from audiornn.runtime import ir

        return Effect(model, config, ir.load(run_dir), **kwargs)
    return Generator(model, config, **kwargs)
