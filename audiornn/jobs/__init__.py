"""The registry of jobs: one module each. Nothing outside this package branches on a job's name.

To add a job, write a module with a `JOB = Job(...)` (or a subclass of
`jobs.base.Job`) and list it in `_MODULES`.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from audiornn.data import DataConfig
from audiornn.errors import AudioRNNError
from audiornn.jobs.base import Job, WebForm

__all__ = ["Job", "WebForm", "all_jobs", "get", "for_request", "build_dataset"]

_MODULES = ("generate", "effect", "oneshot")
_JOBS: dict[str, Job] = {}


def all_jobs() -> dict[str, Job]:
    """Every registered job by name (the default job, generate, first)."""
    if not _JOBS:
        for m in _MODULES:
            job = importlib.import_module(f"audiornn.jobs.{m}").JOB
            _JOBS[job.name] = job
    return _JOBS


def get(name: str) -> Job:
    """The job of that name; an unknown name is a one-line error."""
    jobs = all_jobs()
    if name not in jobs:
        raise AudioRNNError(f"unknown job {name!r} (this audiornn knows {', '.join(jobs)})")
    return jobs[name]


def for_request(request: dict) -> Job:
    """The job whose dataset a `data` request asks for (the default: generate)."""
    claimed = [j for j in all_jobs().values() if j.claims(request)]
    if len(claimed) > 1:
        raise AudioRNNError("give the options of one kind of dataset: "
                            + " or ".join(j.summary for j in claimed))
    return claimed[0] if claimed else get("generate")


def build_dataset(request: dict, out: str, *, sample_rate: int | None, preemphasis: float | None,
                  val_fraction: float, seed: int, strict: bool, overwrite: bool,
                  progress=None, max_silence: float | None = None) -> dict:
    """Builds the dataset a request asks for (its job decides how); returns its dataset.json.

    progress: a factory (total seconds, number of files) -> callback(stage, seconds, files).
    """
    job = for_request(request)
    if max_silence is not None and max_silence > 0 and not job.max_silence:
        raise AudioRNNError("--max-silence applies to folders of recordings, not to "
                            + job.summary)
    config = DataConfig(
        max_silence=job.max_silence if max_silence is None else max_silence,
        sample_rate=sample_rate or job.sample_rate(request) or DataConfig.sample_rate,
        val_fraction=val_fraction, seed=seed, strict=strict,
        # De-emphasis integrates a model's code errors into low-frequency drift: harmless
        # in long generated audio, glaring in an effect's output or a one-shot's silent tail.
        preemphasis=job.preemphasis if preemphasis is None else preemphasis)
    config.validate()
    out = Path(out)
    if out.exists() and not overwrite:
        raise AudioRNNError(f"{out}: already exists (use --overwrite to replace it)")
    meta = job.build_dataset(request, out, config,
                             progress or (lambda total, n: lambda *a: None), overwrite)
    return meta
