"""`python -m audiornn <command> ...` (also the `audiornn` console script)."""

from __future__ import annotations

import importlib
import sys

COMMANDS = {
    "capture": "write the reamp signal to record an amp or pedal through",
    "data": "build a dataset from audio files",
    "train": "train a model on a dataset",
    "generate": "generate audio, apply an effect or make one-shots",
    "eval": "plots and quality numbers for a run",
    "export": "export an effect run to AIDA-X or NAM plugins",
    "serve": "a local web page for generating, effects and one-shots",
}

#: Commands whose module has another name (a module named `eval` would shadow a builtin).
MODULES = {"eval": "evaluate"}


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        width = max(map(len, COMMANDS))
        print("usage: audiornn <command> [options]   (or python -m audiornn <command>)\n")
        for name, text in COMMANDS.items():
            print(f"  {name:<{width}}  {text}")
        if argv and argv[0] not in ("-h", "--help"):
            print(f"\naudiornn: error: unknown command {argv[0]!r}", file=sys.stderr)
            return 2
        return 0
    # Each command's module parses and checks its arguments before Keras is imported.
    module = MODULES.get(argv[0], argv[0])
    return importlib.import_module(f"audiornn.cli.{module}").main(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
