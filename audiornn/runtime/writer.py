"""The audio writer: decoded chunks stream to a temporary file, renamed into place when complete."""

from __future__ import annotations

import logging
import math
import os
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from audiornn import dsp
from audiornn.data import audio
from audiornn.data.codec import Codec
from audiornn.errors import AudioRNNError
from audiornn.files import atomic_path

log = logging.getLogger("audiornn.writer")


def level_mode(normalize) -> str:
    """`normalize` as a level policy (dsp.LEVELS): True "peak", False or None "headroom"
    (the default: turned down only when it would clip), or a policy's name."""
    if normalize is True:
        return "peak"
    if normalize is False or normalize is None:
        return "headroom"
    if normalize not in dsp.LEVELS:
        raise AudioRNNError(f"normalize must be one of {dsp.LEVELS}, got {normalize!r}")
    return normalize


def report_levels(levels: list[tuple[Path, float, float]], fmt: str) -> None:
    """One line for the files that were turned down to leave headroom, and one for those
    left above full scale (--no-normalize), if any were.

    levels: each file's (path, peak before the level policy, gain it applied).
    """
    n = len(levels)
    down = [g for _, _, g in levels if g < 1.0]
    if down:
        count = f"{len(down)} of {n} files" if n > 1 else "the file"
        log.info("turned %s down by up to %.1f dB to leave 1 dB of headroom "
                 "(--no-normalize keeps the level and clips)", count, -20 * math.log10(min(down)))
    over = [(path, peak) for path, peak, g in levels if g == 1.0 and peak > 1.0]
    if over:
        count = f"{len(over)} of {n} files" if n > 1 else str(over[0][0])
        where = "clipped to full scale" if fmt == "pcm16" else "kept above full scale (float)"
        log.warning("%s: peak up to %+.1f dBFS, %s (without --no-normalize they are turned down)",
                    count, 20 * math.log10(max(peak for _, peak in over)), where)


def output_paths(out: Path, num: int) -> list[Path]:
    """`out` itself for one file. For several: numbered WAVs in the folder `out`
    (created), or, when `out` names a .wav file, `NAME-01.wav`, `NAME-02.wav`, ... beside it."""
    width = max(2, len(str(num)))
    if num == 1:
        audio.check_writable(out)
        return [out]
    if out.suffix.lower() == ".wav" and not out.is_dir():
        paths = [out.with_name(f"{out.stem}-{k + 1:0{width}d}.wav") for k in range(num)]
        audio.check_writable(paths[0])
        return paths
    if out.exists() and not out.is_dir():
        raise AudioRNNError(f"{out}: exists and is not a folder (--num > 1 writes a folder)")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise AudioRNNError(f"{out}: cannot create the output folder ({e.strerror})") from None
    if not os.access(out, os.W_OK):
        raise AudioRNNError(f"{out}: output folder is not writable")
    return [out / f"{k:0{width}d}.wav" for k in range(num)]


class AudioWriter:
    """Decodes code chunks and appends float32 audio to a temporary file beside the output.

    `finish` resamples to `out_rate`, fixes the length to `out_frames` when
    given, applies the level policy, converts to the output format and renames
    the file into place; `discard` removes whatever is left. Audio that was
    pre-emphasized is high-passed below 30 Hz after de-emphasis (which would
    otherwise integrate the model's low-frequency noise into rumble). `gate_db` > 0:
    a one-shot, ended once it has fallen that far below its peak or before it fires again
    (dsp.end_hit); `ended` says when it has fallen that far, past `end_after` samples (the
    hit's attack), so that generation can stop there. `shape`: per-sample gains the
    decoded samples are multiplied by (a one-shot's level, put back: dsp.envelope_gain;
    its last value holds past its end).
    """

    def __init__(self, path: Path, codec: Codec, out_rate: int | None = None,
                 out_frames: int | None = None, gate_db: float = 0.0,
                 shape: np.ndarray | None = None, end_after: int = 0):
        self.path, self.codec, self.gate_db = path, codec, float(gate_db)
        self.shape, self.n, self.end_after = shape, 0, int(end_after)
        # a one-shot's 5 ms frame energies so far (dsp.frame_db), and the samples after them
        self.levels, self.rest = ([] if self.gate_db > 0 else None), np.zeros(0)
        self.rate = codec.sample_rate
        self.out_rate, self.out_frames = out_rate or self.rate, out_frames
        self.zi = None
        self.peak = 0.0
        self.gain = 1.0
        self.sos = dsp.subsonic_sos(self.rate) if codec.preemphasis > 0 else None
        self.sos_zi = None if self.sos is None else np.zeros((self.sos.shape[0], 2))
        for stale in path.parent.glob(f".{path.name}.*"):  # what a killed run left of this output
            stale.unlink(missing_ok=True)
        fd, self.tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part.wav",
                                        dir=path.parent)
        os.close(fd)
        self.file = sf.SoundFile(self.tmp, "w", self.rate, 1, "FLOAT", format="WAV")

    def append(self, codes: np.ndarray) -> None:
        self.append_values(dsp.mu_law_decode(codes))

    def append_values(self, values: np.ndarray) -> None:
        """Appends decoded mu-law values (pre-emphasized, gained): undo the gain, de-emphasis."""
        x, self.zi = self.codec.decode_values(values, "target", self.zi)
        if self.shape is not None and len(x):
            x = x * self.shape[np.minimum(np.arange(self.n, self.n + len(x)), len(self.shape) - 1)]
        self.n += len(x)
        if self.sos is not None and len(x):
            from scipy import signal

            x, self.sos_zi = signal.sosfilt(self.sos, x, zi=self.sos_zi)
        self.peak = max(self.peak, float(np.max(np.abs(x))) if len(x) else 0.0)
        self.file.write(x.astype(np.float32))
        if self.levels is not None:
            y = np.concatenate([self.rest, x])
            n, e = dsp.frame_db(y, self.rate)
            self.levels.append(e)
            self.rest = y[len(e) * n:]

    @property
    def ended(self) -> bool:
        """A one-shot that has fallen `gate_db` below its peak: `finish` cuts what would follow."""
        return self.levels is not None and self.n > self.end_after and \
            dsp.hit_fallen(np.concatenate(self.levels), self.gate_db)

    def finish(self, fmt: str, normalize=False) -> float:
        """Writes the file (see the class); returns the gain its level policy applied.

        normalize: True scales the peak to -1 dBFS; False (default) turns the
        file down to -1 dBFS only if it is louder; "off" keeps the level.
        """
        self.file.close()
        if self.gate_db > 0:  # a one-shot ends (dsp.end_hit); it is short enough to hold
            x = sf.read(self.tmp, dtype="float32")[0]
            x = dsp.end_hit(x, self.rate, self.gate_db)
            sf.write(self.tmp, x, self.rate, "FLOAT", format="WAV")
            self.peak = float(np.max(np.abs(x), initial=0.0))
        scale = self.gain = dsp.output_gain(self.peak, level_mode(normalize))
        subtype = {"pcm16": "PCM_16", "float": "FLOAT"}[fmt]
        rs = dsp.StreamResampler(self.rate, self.out_rate)
        left = self.out_frames

        def put(f, y):
            nonlocal left
            if left is not None:
                y, left = y[:left], left - min(left, len(y))
            if fmt == "pcm16":
                y = np.clip(y, -1.0, 1.0)
            f.write(y.astype(np.float32))

        with atomic_path(self.path, ".wav") as tmp, \
                sf.SoundFile(tmp, "w", self.out_rate, 1, subtype, format="WAV") as f:
            for block in sf.blocks(self.tmp, blocksize=1 << 16, dtype="float32"):
                put(f, rs.process(block * scale))
            put(f, rs.flush())
            if left:  # resampling rounds the length; pad to the input's exact length
                put(f, np.zeros(left))
        return scale

    @property
    def level(self) -> tuple[Path, float, float]:
        """(path, peak, gain) for `report_levels`, once `finish` has applied its policy."""
        return self.path, self.peak, self.gain

    def discard(self) -> None:
        if not self.file.closed:
            self.file.close()
        Path(self.tmp).unlink(missing_ok=True)
