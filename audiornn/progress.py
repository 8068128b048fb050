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
    """

    def __init__(self, total: float, unit: str = "sample", quiet: bool = False,
                 callback: Callable[[float], None] | None = None, title: str | None = None):
        self.total, self.unit, self.callback, self.title = max(total, 1e-9), unit, callback, title
        self.bar = None
        self.quiet = quiet or total <= 0

    def __call__(self, done: float, **values) -> None:
        done = min(done, self.total)
        if not self.quiet:
            if self.bar is None:
                from keras.utils import Progbar

                if self.title:
                    print(self.title, file=sys.stderr)
                self.bar = Progbar(self.total, unit_name=self.unit, stateful_metrics=list(values))
            self.bar.update(done, values=list(values.items()) or None)
        if self.callback:
            self.callback(done / self.total)
