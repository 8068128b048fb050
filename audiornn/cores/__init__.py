"""The registry of cores: the network between the input streams and the head, one module each.
Nothing outside this package tests a core's name.

A core module defines `CORE`, a `cores.base.CoreType`: its own settings (a
dataclass: `Options`), their checks, its Keras layers (`build`), its step
math on the trained weights (`step_core`: what the sampling loop, priming,
effects and scoring run) and the granularity its loops cut chunks at. To add
a core, write a module with a `CORE` and list it in `NAMES`.

Loaded lazily: this registry imports no Keras (the command line checks names
before Keras is imported).
"""

from __future__ import annotations

import importlib

from audiornn.errors import AudioRNNError

NAMES = ("flat", "tiered", "wavenet")
#: The settings of each core that version-2 configs stored beside the shared fields
#: (read into ModelConfig.options when such a config loads).
LEGACY_OPTIONS = {"tiered": ("frame", "sample_units", "sample_layers")}


def get(name: str):
    """The core of that name; an unknown name is a one-line error."""
    if name not in NAMES:
        raise AudioRNNError(f"--core must be one of {', '.join(NAMES)}, got {name!r}")
    return importlib.import_module(f"audiornn.cores.{name}").CORE


def make_core(model, config):
    """The step math of a model's core (a ModelConfig's): what loops, effects and scoring run."""
    return get(config.core).step_core(model, config)


def granularity(config) -> int:
    """Samples per step of the core's slowest part: chunks and windows are cut at its multiples."""
    return get(config.core).granularity(config)
