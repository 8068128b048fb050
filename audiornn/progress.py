"""The one progress helper: a Keras progress bar in the user's units, or nothing when quiet."""

from __future__ import annotations

import sys
from collections.abc import Callable


class Progress:
    """Callable with the amount done so far; draws `keras.utils.Progbar` and/or calls back.

    Args:
      total: the amount at completion (samples, seconds of audio, ...).
      unit: the unit's name shown by the bar.
      quiet: no bar (a callback still runs).
      callback: called with the fraction done in [0, 1] (the web page's jobs).
      title: a line printed to stderr before the bar appears.
      per_second: units per second of audio (samples: the sample rate; seconds
        of audio: 1). The bar then shows the speed as "x real time" instead of
        Keras' time per unit ("437us/s of audio").
    """

    def __init__(self, total: float, unit: str = "sample", quiet: bool = False,
                 callback: Callable[[float], None] | None = None, title: str | None = None,
                 per_second: float | None = None):
        self.total, self.unit, self.callback, self.title = max(total, 1e-9), unit, callback, title
        self.per_second = per_second
        self.bar = None
        self.start = None
        self.quiet = quiet or total <= 0

    def __call__(self, done: float, **values) -> None:
        import time

        done = min(done, self.total)
        if self.start is None:
            self.start = time.monotonic()
        elapsed = time.monotonic() - self.start
        if self.per_second and elapsed > 0.5:  # before, the speed is noise
            values["x real time"] = round(done / self.per_second / elapsed, 1)
        if not self.quiet:
            if self.bar is None:
                if self.title:
                    print(self.title, file=sys.stderr)
                stateful = list(values) + (["x real time"] if self.per_second else [])
                self.bar = _bar(self.total, self.unit, list(dict.fromkeys(stateful)),
                                bool(self.per_second))
            self.bar.update(done, values=list(values.items()) or None)
        if self.callback:
            self.callback(done / self.total)


def _bar(total: float, unit: str, stateful: list, hide_per_unit: bool):
    from keras.utils import Progbar

    class AudioBar(Progbar):
        def _format_time(self, time_per_unit, unit_name):  # the speed is shown as x real time
            return "" if hide_per_unit else super()._format_time(time_per_unit, unit_name)

    return AudioBar(total, unit_name=unit, stateful_metrics=stateful)
