"""The registry of heads: what the model's output is, one module each. Nothing outside this
package tests a head's name.

A head module defines `HEAD`, a `heads.base.Head`: its output layer, its
loss and metrics, what the training windows' targets are, how a step turns
into a sample, and whether `export` can hold it. To add a head, write a
module with a `HEAD` and list it in `NAMES`.

Loaded lazily: this registry imports no Keras (the command line checks names
before Keras is imported).
"""

from __future__ import annotations

import importlib

from audiornn.errors import AudioRNNError

NAMES = ("classes", "regression")


def get(name: str):
    """The head of that name; an unknown name is a one-line error."""
    if name not in NAMES:
        raise AudioRNNError(f"--head must be one of {', '.join(NAMES)}, got {name!r}")
    return importlib.import_module(f"audiornn.heads.{name}").HEAD
