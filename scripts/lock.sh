#!/usr/bin/env bash
# Re-lock the dependencies and strip the registry address from Pipfile.lock,
# so that pipenv uses pip's configured index on every machine.
set -euo pipefail
cd "$(dirname "$0")/.."
export PIPENV_VENV_IN_PROJECT=1
python3 -m pipenv --version >/dev/null 2>&1 || python3 -m pip install --user -q pipenv
python3 -m pipenv lock "$@"
python3 - <<'PY'
import json, pathlib
lock = pathlib.Path("Pipfile.lock")
data = json.loads(lock.read_text())
data.setdefault("_meta", {})["sources"] = []  # pipenv needs the key, not its addresses
lock.write_text(json.dumps(data, indent=4, sort_keys=True) + "\n")
PY
grep -q '\[\[source\]\]' Pipfile && { echo "Pipfile must not hold a [[source]] block" >&2; exit 1; }
echo "Pipfile.lock written without _meta.sources"
