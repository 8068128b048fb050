"""Files that are never half-written, and versioned JSON metadata (dataset.json, config.json)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from audiornn.errors import AudioRNNError


@contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None,
                durable: bool = False) -> Iterator[Path]:
    """Yields a temporary path beside `path`, renamed onto it when the block succeeds.

    On any error (Ctrl-C included) the temporary file is removed, so `path`
    either keeps its old contents or gets the complete new ones.

    Args:
      path: the final file.
      suffix: the temporary file's ending (default: the final file's, so that
        libraries which pick a format by extension still do).
      durable: fsync the file before the rename and its folder after, so that
        after a crash or power loss the path holds one complete version.
    """
    path = Path(path)
    suffix = path.suffix if suffix is None else suffix
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent or ".")
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o644)
        if durable:
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
        os.replace(tmp, path)
        if durable:
            _fsync_dir(path.parent)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_json_atomic(path: str | os.PathLike, data: dict) -> None:
    """Writes JSON to a temporary file and renames it into place."""
    with atomic_path(path, ".tmp") as tmp:
        tmp.write_text(json.dumps(data, indent=1))


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
