"""Preprocessing: audio files in, mu-law codes out, and back (the codec a run saves).

Every file the model sees (dataset sources, primes, effect inputs, audio to
score) passes through `processed_blocks` -> gain -> mu-law, block by block, so
memory does not grow with the file. `Codec` holds the settings (rate,
pre-emphasis, mu, one gain per stream) and owns encoding and decoding.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from audiornn import dsp
from audiornn.data import audio


def processed_blocks(path: str | os.PathLike, sample_rate: int, preemphasis: float,
                     stats: dict | None = None, max_silence: float = 0.0,
                     silence_db: float = -50.0) -> Iterator[np.ndarray]:
    """Yields the resampled, pre-emphasized (not yet gained) signal of a file in blocks.

    Args:
      stats: if given, receives "raw_peak", the peak of the mono source signal,
        and "silence_removed", the samples dropped by `max_silence`.
      max_silence: when > 0, silent stretches (below `silence_db` dBFS) are
        shortened to this many seconds (dsp.SilenceShortener), before pre-emphasis.
    """
    i = audio.info(path)
    rs = dsp.StreamResampler(i.sample_rate_hz, sample_rate)
    cut = dsp.SilenceShortener(int(max_silence * sample_rate), silence_db,
                               frame=max(1, sample_rate // 100)) if max_silence > 0 else None
    zi = None
    n_read = 0

    def finish(y):
        nonlocal zi
        if cut is not None:
            y = cut.process(y)
        if len(y):
            y, zi = dsp.preemphasis(y, preemphasis, zi)
        return y

    for x in audio.blocks(path):
        n_read += len(x)
        if stats is not None:
            stats["raw_peak"] = max(stats.get("raw_peak", 0.0), float(np.max(np.abs(x))))
        y = finish(rs.process(x))
        if len(y):
            yield y
    if n_read < i.n_frames:
        raise audio.BadAudioFile(path, f"truncated: header promises {i.n_frames} frames, "
                                       f"only {n_read} could be read")
    y = finish(rs.flush())
    if cut is not None:
        rest = cut.flush()
        if len(rest):
            rest, zi = dsp.preemphasis(rest, preemphasis, zi)
        y = np.concatenate([y, rest])
        if stats is not None:
            stats["silence_removed"] = cut.removed
    if len(y):
        yield y


def encoded_blocks(path: str | os.PathLike, sample_rate: int, preemphasis: float,
                   gain: float, max_silence: float = 0.0,
                   silence_db: float = -50.0) -> Iterator[np.ndarray]:
    """Yields a file's mu-law codes in blocks, preprocessed exactly as a dataset stream."""
    for y in processed_blocks(path, sample_rate, preemphasis, None, max_silence, silence_db):
        yield dsp.mu_law_encode(y * gain)


@dataclass(frozen=True)
class Codec:
    """How audio became codes: the model's rate, pre-emphasis, mu and one gain per stream.

    Attributes:
      sample_rate: the model's sample rate in Hz.
      preemphasis: the pre-emphasis coefficient (0: none).
      mu: the mu-law parameter (mu + 1 classes).
      gains: stream name ("target", "input") -> the linear gain applied before
        mu-law (encode multiplies, decode divides).
    """

    sample_rate: int = 16000
    preemphasis: float = 0.95
    mu: int = dsp.MU
    gains: dict = field(default_factory=lambda: {"target": 1.0})

    @classmethod
    def from_dict(cls, d: dict) -> Codec:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    def gain(self, stream: str = "target") -> float:
        return float(self.gains[stream])

    def encode_blocks(self, path: str | os.PathLike, stream: str = "target") -> Iterator[np.ndarray]:
        """A file's codes (uint8) in blocks, preprocessed like the training data's `stream`."""
        return encoded_blocks(path, self.sample_rate, self.preemphasis, self.gain(stream))

    def encode_file(self, path: str | os.PathLike, stream: str = "target") -> np.ndarray:
        """A whole file's codes (int32)."""
        parts = list(self.encode_blocks(path, stream))
        return np.concatenate(parts).astype(np.int32) if parts else np.zeros(0, np.int32)

    def encode(self, x: np.ndarray, stream: str = "target", zi=None):
        """Audio at the model's rate -> (codes, pre-emphasis state)."""
        return dsp.encode(x, self.preemphasis, self.gain(stream), zi)

    def decode(self, codes: np.ndarray, stream: str = "target", zi=None):
        """Codes -> (audio, de-emphasis state)."""
        return dsp.decode(codes, self.preemphasis, self.gain(stream), zi)

    def decode_values(self, values: np.ndarray, stream: str = "target", zi=None):
        """Decoded mu-law values (pre-emphasized, gained) -> (audio, de-emphasis state)."""
        return dsp.deemphasis(np.asarray(values, np.float64) / self.gain(stream), self.preemphasis, zi)

    def values(self) -> np.ndarray:
        """The decoded value of every code, (mu + 1,) float32."""
        return dsp.mu_law_decode(np.arange(self.mu + 1), self.mu)
