"""Versioned JSON metadata files (dataset.json, config.json): atomic writes, checked reads."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from audiornn.errors import AudioRNNError


def write_json_atomic(path: str | os.PathLike, data: dict) -> None:
    """Writes JSON to a temporary file and renames it into place."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=1)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def read_versioned(directory: str | os.PathLike, filename: str, fmt: str, version: int,
                   noun: str) -> dict:
    """Reads DIR/filename and checks its "format" and "version".

    Raises:
      AudioRNNError: a missing directory or file, unreadable JSON, another
        format, or a version newer than `version`, each with a one-line reason.
    """
    directory = Path(directory)
    if not directory.exists():
        raise AudioRNNError(f"{directory}: no such {noun} directory")
    if not directory.is_dir():
        raise AudioRNNError(f"{directory}: not a directory")
    f = directory / filename
    if not f.exists():
        raise AudioRNNError(f"{directory}: not an audiornn {noun} (no {filename})")
    try:
        data = json.loads(f.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise AudioRNNError(f"{f}: unreadable ({e})") from None
    if not isinstance(data, dict) or data.get("format") != fmt:
        raise AudioRNNError(f"{directory}: not an audiornn {noun} ({filename} has another format)")
    found = data.get("version")
    if not isinstance(found, int) or found > version:
        raise AudioRNNError(f"{directory}: {noun} format version {found} is newer than this "
                            f"audiornn reads ({version}); upgrade audiornn")
    return data
