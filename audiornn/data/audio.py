"""Reading and writing audio files with soundfile, with clear errors for bad files."""

from __future__ import annotations

import os
import re
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from audiornn import dsp
from audiornn.errors import AudioRNNError
from audiornn.files import atomic_path

#: File extensions that soundfile/libsndfile can read (lower case, no dot).
AUDIO_EXTENSIONS = frozenset(
    {ext.lower() for ext in sf.available_formats()}
    | {"wav", "wave", "flac", "ogg", "oga", "opus", "aif", "aiff", "aifc", "mp3", "au", "caf"}
)


class BadAudioFile(AudioRNNError):
    """A file that cannot be used, with the reason."""

    def __init__(self, path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


@dataclass(frozen=True)
class AudioInfo:
    path: str
    sample_rate_hz: int
    channels: int
    n_frames: int
    format: str
    subtype: str

    @property
    def seconds(self) -> float:
        return self.n_frames / self.sample_rate_hz


@contextmanager
def _decoder_messages() -> Iterator[list[str]]:
    """Keeps the decoders' own C-level lines (libmpg123 prints to descriptor 2) off the
    terminal; the list it yields holds them afterwards, to explain a failure."""
    lines: list[str] = []
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield lines
        return
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield lines
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            text = tmp.read().decode("utf-8", "replace")
            lines += [_NATIVE_PREFIX.sub("", ln).strip() for ln in text.splitlines() if ln.strip()]


_NATIVE_PREFIX = re.compile(r"^\[[^\]]*\]\s*(error:|warning:)?\s*", re.IGNORECASE)


def _reason(exc: Exception, native: list[str] = ()) -> str:
    """The decoder's own words when it said any, else libsndfile's (without the file name)."""
    if native:
        text = native[-1]
        return f"decoder: {text[0].lower()}{text[1:].rstrip('.')}"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    # libsndfile prefixes messages with the file name; keep only the reason.
    return text.split(": ", 1)[-1] if "Error opening" in text else text


_DATA_SIZE = re.compile(r"^data\s*:\s*(\d+)\s*\(should be (\d+)\)", re.MULTILINE)
_STREAMED_SIZES = {0, 0xFFFFFFFF, 0x7FFFFFFF, 0xFFFFFFFE}


def _truncation(log: str) -> str | None:
    """Reads libsndfile's header log for a data chunk that promises more than the file has."""
    m = _DATA_SIZE.search(log)
    if m:
        declared, present = int(m.group(1)), int(m.group(2))
        if declared > present and declared not in _STREAMED_SIZES:
            return (f"truncated: header promises {declared} bytes of audio, "
                    f"only {present} are present")
    return None


def info(path: str | os.PathLike) -> AudioInfo:
    """Reads a file's header; raises BadAudioFile with the reason when it can't."""
    path = Path(path)
    if not path.exists():
        raise BadAudioFile(path, "no such file")
    if path.is_dir():
        raise BadAudioFile(path, "is a directory")
    if path.stat().st_size == 0:
        raise BadAudioFile(path, "empty file (0 bytes)")
    try:
        with _decoder_messages() as native:
            i = sf.info(str(path))
    except Exception as e:  # libsndfile's errors are RuntimeError subclasses
        raise BadAudioFile(path, f"not a readable audio file ({_reason(e, native)})") from None
    if i.frames <= 0:
        raise BadAudioFile(path, "no audio frames")
    truncated = _truncation(getattr(i, "extra_info", "") or "")
    if truncated:
        raise BadAudioFile(path, truncated)
    if i.samplerate <= 0 or i.channels <= 0:
        raise BadAudioFile(path, "invalid header (sample rate or channel count)")
    return AudioInfo(str(path), int(i.samplerate), int(i.channels), int(i.frames),
                     i.format, i.subtype)


def blocks(path: str | os.PathLike, block_frames: int = 1 << 17) -> Iterator[np.ndarray]:
    """Yields mono float64 blocks of a file; raises BadAudioFile on a read error.

    Non-finite samples raise at the block where they appear.
    """
    try:
        with sf.SoundFile(str(path)) as f:
            while True:
                x = f.read(block_frames, dtype="float64", always_2d=True)
                if len(x) == 0:
                    return
                if not np.all(np.isfinite(x)):
                    raise BadAudioFile(path, "contains NaN or infinite samples")
                yield dsp.to_mono(x) if x.shape[1] > 1 else x[:, 0]
    except BadAudioFile:
        raise
    except Exception as e:
        raise BadAudioFile(path, f"read failed ({_reason(e)})") from None


def clipped_fraction(path: str | os.PathLike, level: float = 0.999, run: int = 3) -> float:
    """The share of a file's samples that sit at full scale in runs of `run` or more
    (a recording that was clipped; a single full-scale peak is not counted)."""
    clipped = total = 0
    for x in blocks(path):
        at = np.abs(x) >= level
        total += len(x)
        if not at.any():
            continue
        edges = np.diff(np.r_[0, at.astype(np.int8), 0])
        starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        lengths = ends - starts
        clipped += int(lengths[lengths >= run].sum())
    return clipped / max(total, 1)


def seconds(path: str | os.PathLike) -> float:
    """A file's duration from its header, or 0.0 when it cannot be read (for progress)."""
    try:
        return info(path).seconds
    except BadAudioFile:
        return 0.0


def read(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Reads a whole file as mono float64; returns (samples, sample_rate_hz)."""
    i = info(path)
    parts = list(blocks(path))
    x = np.concatenate(parts) if parts else np.zeros(0)
    if len(x) == 0:
        raise BadAudioFile(path, "no audio frames")
    return x, i.sample_rate_hz


def check_writable(path: str | os.PathLike) -> None:
    """Raises AudioRNNError unless a file can be created at path."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise AudioRNNError(f"{path}: is a directory, expected a file name")
    if not parent.is_dir():
        raise AudioRNNError(f"{path}: output folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise AudioRNNError(f"{path}: output folder {parent} is not writable")


def write(path: str | os.PathLike, x: np.ndarray, sample_rate_hz: int,
          fmt: str = "pcm16") -> Path:
    """Writes audio atomically (temporary file, then rename).

    Args:
      path: the output file; its extension picks the container (WAV by default).
      x: float samples, (n,) or (n, channels); must be within [-1, 1] for pcm16.
      sample_rate_hz: the sample rate.
      fmt: "pcm16" or "pcm24" for 16- or 24-bit integer, "float" for 32-bit float.
    """
    path = Path(path)
    check_writable(path)
    subtype = {"pcm16": "PCM_16", "pcm24": "PCM_24", "float": "FLOAT"}[fmt]
    ext = path.suffix.lower().lstrip(".") or "wav"
    container = {"wav": "WAV", "flac": "FLAC", "aif": "AIFF", "aiff": "AIFF"}.get(ext, "WAV")
    if container == "FLAC" and subtype == "FLOAT":
        subtype = "PCM_24"
    with atomic_path(path, ".tmp") as tmp:
        sf.write(tmp, np.asarray(x, dtype=np.float32), int(sample_rate_hz),
                 subtype=subtype, format=container)
    return path
