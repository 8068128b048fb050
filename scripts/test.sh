#!/usr/bin/env bash
# Install the locked environment, then run the test suite.
source "$(dirname "$0")/_env.sh"
echo "== pytest"
"$VENV_PY" -m pytest "$@"
