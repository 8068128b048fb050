#!/usr/bin/env bash
# Install the locked environment, then run the test suite: one pytest worker per
# core (pytest-xdist), each test file on one worker so that a file's trained
# fixtures are made once. `scripts/test.sh -n 0` runs it in one process.
source "$(dirname "$0")/_env.sh"
echo "== pytest"
"$VENV_PY" -m pytest -n auto --dist loadfile "$@"
