"""The one progress helper: a line in the user's units, redrawn on a terminal, plain lines in a log.

On a terminal the line is redrawn in place ("\\r"); when stderr is a file or
a pipe, a plain line is written at most every `LOG_EVERY_S` seconds and at
the end, so a log holds a few readable lines, not thousands of redraws.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

LOG_EVERY_S = 10.0


def amount(value: float, unit: str) -> str:
    """A count as an integer with its unit ("12,000 samples"); seconds with one decimal."""
    if unit.startswith("s "):  # "s of audio"
        return f"{value:,.1f} {unit}"
    n = int(round(value))
    return f"{n:,} {unit}{'' if n == 1 or unit.endswith('s') else 's'}"


def duration(seconds: float) -> str:
    """4 s, 2 min 05 s, 1 h 02 min."""
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


class Progress:
    """Callable with the amount done so far; draws a progress line and/or calls back.

    Args:
      total: the amount at completion (samples, seconds of audio, ...).
      unit: the unit's name ("sample", "s of audio").
      quiet: no line (a callback still runs).
      callback: called with the fraction done in [0, 1] (the web page's jobs).
      title: a line printed before the progress appears.
      per_second: units per second of audio (samples: the sample rate; seconds
        of audio: 1): the line then shows the speed as "x real time".
      stream: where the line goes (default stderr).
    """

    def __init__(self, total: float, unit: str = "sample", quiet: bool = False,
                 callback: Callable[[float], None] | None = None, title: str | None = None,
                 per_second: float | None = None, stream=None):
        self.total, self.unit, self.callback, self.title = max(total, 1e-9), unit, callback, title
        self.per_second = per_second
        self.stream = stream or sys.stderr
        self.quiet = quiet or total <= 0
        self.start = None
        self.last_line = -1e9
        self.width = 0
        self.ended = False

    def __call__(self, done: float, **counts) -> None:
        done = min(done, self.total)
        now = time.monotonic()
        if self.start is None:
            self.start = now
            if self.title and not self.quiet:
                print(self.title, file=self.stream)
        if not self.quiet and not self.ended:
            self._draw(done, now - self.start, counts, now)
        if self.callback:
            self.callback(done / self.total)

    def line(self, done: float, elapsed: float, counts: dict) -> str:
        """The progress line: amount, share, counts, speed and time left."""
        number = f"{done:,.1f}" if self.unit.startswith("s ") else f"{int(round(done)):,}"
        parts = [f"{number} of {amount(self.total, self.unit)} ({done / self.total:.0%})"]
        parts += [amount(v, k) for k, v in counts.items()]
        if self.per_second and elapsed > 0.5 and done > 0:
            parts.append(f"{done / self.per_second / elapsed:.1f}x real time")
        if 0 < done < self.total and elapsed > 0.5:
            parts.append(f"{duration(elapsed * (self.total - done) / done)} left")
        elif done >= self.total:
            parts.append(f"took {duration(elapsed)}")
        return " - ".join(parts)

    def _draw(self, done: float, elapsed: float, counts: dict, now: float) -> None:
        finished = done >= self.total
        tty = getattr(self.stream, "isatty", lambda: False)()
        if not finished and now - self.last_line < (0.1 if tty else LOG_EVERY_S):
            return
        self.last_line = now
        text = self.line(done, elapsed, counts)
        if tty:
            self.stream.write("\r" + text.ljust(self.width) + ("\n" if finished else ""))
            self.width = len(text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
        self.ended = finished
