"""Shared command-line plumbing: logging set-up and turning errors into exit codes."""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
from collections.abc import Callable

from audiornn.errors import AudioRNNError

log = logging.getLogger("audiornn")


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own errors also exit 2, in one line
        self.exit(2, f"{self.prog}: error: {message}\n")


def parser(prog: str, description: str) -> argparse.ArgumentParser:
    """An ArgumentParser whose usage errors are one line and exit 2."""
    return _Parser(prog=prog, description=description)


def bounded(kind, lo, hi, lo_open: bool = False):
    """An argparse type: a finite number of `kind` in [lo, hi] ((lo, hi] with lo_open)."""

    def parse(text: str):
        try:
            value = kind(float(text)) if kind is int and "e" in text.lower() else kind(text)
        except (ValueError, OverflowError):
            raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
        ok = math.isfinite(value) and (value > lo if lo_open else value >= lo) and value <= hi
        if not ok:
            bound = f"({lo:g}, {hi:g}]" if lo_open else f"[{lo:g}, {hi:g}]"
            raise argparse.ArgumentTypeError(f"must be in {bound}, got {text}")
        return value

    return parse


def positive_float(text: str) -> float:
    value = float(text)
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return value


def nonneg_float(text: str) -> float:
    value = float(text)
    if not (value >= 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return value


def positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def nonneg_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def fraction(text: str) -> float:
    value = float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return value


def setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        stream=sys.stderr,
    )
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def run(prog: str, func: Callable[[], int | None]) -> int:
    """Runs a CLI body; user errors and Ctrl-C become one line and an exit code."""
    try:
        return func() or 0
    except AudioRNNError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:
        if sys.stdout.isatty():  # a progress bar may hold the line
            print(file=sys.stdout, flush=True)
        message = getattr(e, "message", "interrupted; nothing half-written was left behind")
        print(f"{prog}: {message}", file=sys.stderr)
        return 128 + getattr(e, "signum", 2)


def check_run(run: str, files) -> None:
    """Before Keras loads: the run has a complete model.keras, and each given file decodes."""
    from audiornn.config import read_trained_run
    from audiornn.data import audio

    read_trained_run(run)
    for f in files:
        if f:
            audio.info(f)
