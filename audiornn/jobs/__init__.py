"""The registry of jobs: one module each. Nothing outside this package branches on a job's name.

To add a job, write a module with a `JOB = Job(...)` (or a subclass of
`jobs.base.Job`) and list it in `_MODULES`.
"""

from __future__ import annotations

import importlib

from audiornn.errors import AudioRNNError
from audiornn.jobs.base import Job, WebForm

__all__ = ["Job", "WebForm", "all_jobs", "get", "for_request"]

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
