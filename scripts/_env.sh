# Sourced by demo.sh and test.sh: install pipenv if missing, then sync the
# locked dependencies (dev included) into the project-local .venv.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PIPENV_VENV_IN_PROJECT=1
export PIPENV_NOSPIN=1
export PIPENV_YES=1
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
PY="${PYTHON:-python3}"
if ! "$PY" -m pipenv --version >/dev/null 2>&1; then
    echo "== installing pipenv"
    "$PY" -m pip install --user --quiet pipenv
fi
echo "== pipenv sync --dev (into $ROOT/.venv)"
"$PY" -m pipenv sync --dev --quiet
VENV_PY="$ROOT/.venv/bin/python"
