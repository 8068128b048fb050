"""Opening a dataset directory: `dataset.json` plus memory-mapped `.npy` streams.

Code streams ("target", and "input" for pairs) are uint8, one code per sample.
Conditions (continuous streams) are stored per sequence in each segment's
"values", or per step as float32 `NAME.npy` of shape (codes, size). Version-1
datasets (before conditions) load through `migrate_dataset`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from audiornn.data.codec import Codec
from audiornn.errors import AudioRNNError
from audiornn.files import read_versioned

FORMAT = "audiornn-dataset"
FORMAT_VERSION = 2


@dataclass(frozen=True)
class Segment:
    """A stretch of the code streams: [offset, offset + length) of every stream.

    Attributes:
      values: per-sequence condition name -> its values for this segment.
    """

    source: str
    offset: int
    length: int
    split: str
    label: int | None = None
    start: int = 0  # position of the segment within its source, in codes
    values: dict = field(default_factory=dict)


class Dataset:
    """An opened dataset directory; the streams are memory-mapped, read-only."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.meta = read_meta(self.path)
        n = self.meta.get("n_codes")
        if not isinstance(self.meta.get("streams"), dict) or not isinstance(n, int):
            raise AudioRNNError(f"{self.path}: dataset.json lacks its streams or code count")
        self.streams: dict[str, np.ndarray] = {}
        for name, s in self.meta["streams"].items():
            self.streams[name] = _open(self.path, s["file"], np.uint8, (n,))
        self.step_values: dict[str, np.ndarray] = {}
        for name, c in self.meta["conditions"].items():
            if c.get("per") == "step":
                self.step_values[name] = _open(self.path, c["file"], np.float32, (n, int(c["size"])))
        try:
            self.segments = [Segment(**s) for s in self.meta["segments"]]
        except TypeError as e:
            raise AudioRNNError(f"{self.path}: dataset.json has malformed segments ({e})") from None

    @property
    def sample_rate(self) -> int:
        return int(self.meta["sample_rate"])

    @property
    def preemphasis(self) -> float:
        return float(self.meta["preemphasis"])

    @property
    def labels(self) -> list[str]:
        return list(self.meta.get("labels", []))

    @property
    def job(self) -> str:
        return self.meta["job"]

    @property
    def fingerprint(self) -> str:
        return self.meta["fingerprint"]

    def gain(self, stream: str = "target") -> float:
        return float(self.meta["streams"][stream]["gain"])

    def split(self, name: str) -> list[Segment]:
        return [s for s in self.segments if s.split == name]

    @property
    def codec(self) -> Codec:
        """The settings that turned its audio into codes (saved into runs)."""
        return Codec(sample_rate=self.sample_rate, preemphasis=self.preemphasis,
                     mu=int(self.meta["mu"]),
                     gains={k: float(v["gain"]) for k, v in self.meta["streams"].items()})


def _open(folder: Path, name: str, dtype, shape: tuple) -> np.ndarray:
    f = folder / name
    if not f.exists():
        raise AudioRNNError(f"{folder}: stream file {name} is missing")
    try:
        arr = np.load(f, mmap_mode="r")
    except (ValueError, OSError, EOFError) as e:
        raise AudioRNNError(f"{f}: not a readable .npy file ({str(e).splitlines()[0]})") from None
    if arr.dtype != dtype or arr.shape != shape:
        raise AudioRNNError(f"{f}: expected {shape} {np.dtype(dtype)}, found {arr.shape} {arr.dtype}")
    return arr


def migrate_dataset(meta: dict) -> dict:
    """Version 1 (no conditions, job optional) -> version 2."""
    meta = {"job": "generate", "labels": [], "conditions": {}, **meta}
    meta["version"] = FORMAT_VERSION
    return meta


def read_meta(path: str | os.PathLike) -> dict:
    """Reads and checks dataset.json (any version); raises AudioRNNError with the reason."""
    return migrate_dataset(read_versioned(path, "dataset.json", FORMAT, FORMAT_VERSION, "dataset"))


def open_dataset(path: str | os.PathLike) -> Dataset:
    """Opens a dataset directory (see `Dataset`)."""
    return Dataset(path)
