"""The audio writer: decoded chunks stream to a temporary file, renamed into place when complete."""

from __future__ import annotations

import logging
import math
import os
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from audiornn import audio, dsp
from audiornn.codec import Codec
from audiornn.errors import AudioRNNError
from audiornn.files import atomic_path

log = logging.getLogger("audiornn.writer")
MINUS_1_DBFS = 10 ** (-1 / 20)


def output_paths(out: Path, num: int) -> list[Path]:
    """`out` itself for one file; for several, numbered WAVs in the folder `out` (created)."""
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


class AudioWriter:
    """Decodes code chunks and appends float32 audio to a temporary file beside the output.

    `finish` resamples to `out_rate`, fixes the length to `out_frames` when
    given, converts to the output format and renames the file into place;
    `discard` removes whatever is left.
    """

    def __init__(self, path: Path, codec: Codec, out_rate: int | None = None,
                 out_frames: int | None = None):
        self.path, self.codec = path, codec
        self.rate = codec.sample_rate
        self.out_rate, self.out_frames = out_rate or self.rate, out_frames
        self.zi = None
        self.peak = 0.0
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

    def discard(self) -> None:
        if not self.file.closed:
            self.file.close()
        Path(self.tmp).unlink(missing_ok=True)
