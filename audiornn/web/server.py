"""The local web page's server (`python -m audiornn serve RUN [RUN ...]`), for all three jobs.

The standard library's threaded HTTP server serves one page (plain HTML/JS,
see `page.py`) and a small JSON/WAV API over the same runtime (`runtime.open_run`) the CLI
uses. Each run is loaded once at start and has one worker thread with a
bounded queue: one job per model at a time, later ones wait, and a full
queue answers 429. Every result lives in a server-owned temporary folder
under a name the server chose; nothing is read or written under a path taken
from a request, and no run directory is reachable by URL.

API:
  GET  /                      the page
  GET  /api/runs              the loaded runs: id, job, labels, defaults, limits
  POST /api/runs/<id>/jobs    start a job; parameters in the query string, an
                              optional audio upload (prime or dry file) as the body
  GET  /api/jobs/<job>        state, progress, error and result URLs
  GET  /files/<job>/<name>    a result: NN.wav or NN.png (its waveform)
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import queue
import re
import shutil
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from audiornn.data import audio
from audiornn.errors import AudioRNNError
from audiornn.evaluation.plots import waveform_png

log = logging.getLogger("audiornn.serve")
MAX_KEPT_JOBS = 200


@dataclass(frozen=True)
class Limits:
    """Request bounds (each a CLI option)."""

    max_seconds: float = 30.0
    max_count: int = 16
    max_upload_mb: float = 20.0
    queue: int = 8
    max_prime_seconds: float = 30.0
    max_job_seconds: float = 300.0


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


@dataclass
class Task:
    id: str
    run_id: str
    params: dict
    upload: Path | None = None
    state: str = "queued"  # queued, running, done, error
    progress: float = 0.0
    error: str | None = None
    results: list[str] = field(default_factory=list)
    created: float = field(default_factory=time.time)

    def public(self) -> dict:
        return {"id": self.id, "run": self.run_id, "state": self.state,
                "progress": round(self.progress, 4), "error": self.error,
                "params": self.params,
                "results": [{"wav": f"/files/{self.id}/{name}",
                             "png": f"/files/{self.id}/{Path(name).stem}.png"}
                            for name in self.results]}


class Model:
    """One loaded run, its worker thread and its bounded queue."""

    def __init__(self, run_id: str, path: Path, app: App):
        from audiornn import jobs, streams
        from audiornn.runtime import open_run

        self.id, self.path, self.app = run_id, path, app
        self.gen = open_run(path)  # an Effect for a float head, else the step loop's Generator
        config = self.gen.config
        self.head = config.model.head
        self.job = jobs.get(config.job.name)  # the run's job: its web form, parameters and work
        self.labels = list(config.job.labels)
        self.knobs = []  # the page's sliders: one per single-valued knob
        for s in streams.knobs(config.model.streams):
            seen = config.job.conditions.get(s.name, {})
            if s.size == 1:
                self.knobs.append({"name": s.name, "min": seen.get("min", [0])[0],
                                   "max": seen.get("max", [1])[0],
                                   "value": streams.middle(s, seen)[0]})
        self.queue: queue.Queue[Task] = queue.Queue(maxsize=app.limits.queue)
        self.thread = threading.Thread(target=self._work, name=f"audiornn-{run_id}", daemon=True)
        self.thread.start()

    def describe(self) -> dict:
        d = {"id": self.id, "job": self.job.name, "form": dataclasses.asdict(self.job.form),
             "labels": self.labels, "sample_rate": self.gen.sample_rate,
             "queued": self.queue.qsize(), "head": self.head, "knobs": self.knobs,
             "temperature": self.job.temperature, "floor": self.job.floor,
             "top_p": self.job.top_p}
        if getattr(self.gen, "layout", None):
            d["hit_seconds"] = self.gen.layout.length
        if getattr(self.gen, "latent", None) is not None:  # a one-shot map: the page's main control
            d["map"] = self.gen.map().to_json()
        return d

    def _work(self) -> None:
        while True:
            job = self.queue.get()
            if job is None:
                return
            self.app.gate.wait()  # always open, except when a test holds the worker
            job.state = "running"
            try:
                self.app.run_job(self, job)
                job.state, job.progress = "done", 1.0
            except AudioRNNError as e:
                job.state, job.error = "error", self.app.public_error(str(e))
            except Exception as e:  # keep serving; the job reports what happened
                log.exception("job %s failed", job.id)
                job.state, job.error = "error", self.app.public_error(
                    f"internal error: {type(e).__name__}: {e}")
            finally:
                if job.upload:
                    job.upload.unlink(missing_ok=True)


class App:
    """The server's state: loaded runs, jobs and the results folder."""

    def __init__(self, runs: list[str | os.PathLike], limits: Limits | None = None,
                 workdir: str | os.PathLike | None = None):
        self.limits = limits or Limits()
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="audiornn-serve-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.jobs: dict[str, Task] = {}
        self.lock = threading.Lock()
        self.gate = threading.Event()
        self.gate.set()
        self.models: dict[str, Model] = {}
        if not runs:
            raise AudioRNNError("give at least one RUN directory")
        for r in runs:
            path = Path(r)
            rid = re.sub(r"[^A-Za-z0-9_.-]", "_", path.resolve().name) or "run"
            base, k = rid, 2
            while rid in self.models:
                rid, k = f"{base}-{k}", k + 1
            log.info("loading %s as %r", path, rid)
            self.models[rid] = Model(rid, path, self)

    # ------------------------------------------------------------ requests

    def runs(self) -> dict:
        lim = self.limits
        return {"runs": [m.describe() for m in self.models.values()],
                "limits": {"max_seconds": lim.max_seconds, "max_count": lim.max_count,
                           "max_upload_mb": lim.max_upload_mb, "queue": lim.queue,
                           "max_prime_seconds": lim.max_prime_seconds,
                           "max_job_seconds": lim.max_job_seconds}}

    def submit(self, run_id: str, query: dict[str, str], body: bytes | None) -> Task:
        model = self.models.get(run_id)
        if model is None:
            raise ApiError(404, f"no run {run_id!r}")
        params = self._params(model, query, body)
        job = Task(id=uuid.uuid4().hex[:16], run_id=run_id, params=params)
        if body:
            # A server-chosen name in the server's folder; the client's file name is never used.
            job.upload = self.workdir / f"upload-{job.id}.bin"
            job.upload.write_bytes(body)
            try:
                i = audio.info(job.upload)
            except AudioRNNError as e:
                job.upload.unlink(missing_ok=True)
                reason = self.public_error(str(e)).split(": ", 1)[-1]
                raise ApiError(400, f"upload: {reason}") from None
            longest = self.limits.max_prime_seconds if params.get("prime") else 10 * 60
            if i.seconds > longest:
                job.upload.unlink(missing_ok=True)
                what = "a prime" if params.get("prime") else "an upload"
                raise ApiError(400, f"upload: {i.seconds:.1f} s is longer than {what} may be "
                                    f"({longest:g} s)")
        try:
            model.queue.put_nowait(job)
        except queue.Full:
            if job.upload:
                job.upload.unlink(missing_ok=True)
            raise ApiError(429, f"busy: {self.limits.queue} jobs are queued for {run_id}; "
                                "try again when one has finished") from None
        with self.lock:
            self.jobs[job.id] = job
            if len(self.jobs) > MAX_KEPT_JOBS:
                for old in sorted(self.jobs.values(), key=lambda j: j.created)[:-MAX_KEPT_JOBS]:
                    if old.state in ("done", "error"):
                        self.jobs.pop(old.id, None)
                        shutil.rmtree(self.workdir / old.id, ignore_errors=True)
        return job

    def _params(self, model: Model, q: dict[str, str], body: bytes | None) -> dict:
        lim = self.limits

        def number(name, default, lo, hi, kind=float, lo_open=False):
            text = q.get(name)
            if text is None or text == "":
                return default
            try:
                v = kind(text)
            except ValueError:
                raise ApiError(400, f"{name}: {text!r} is not a number") from None
            if not (math.isfinite(v) and (v > lo if lo_open else v >= lo) and v <= hi):
                bound = f"({lo}, {hi}]" if lo_open else f"[{lo}, {hi}]"
                raise ApiError(400, f"{name} must be in {bound}, got {text}")
            return v

        p = {"seed": number("seed", 0, 0, 2**31 - 1, int),
             "temperature": number("temperature", model.job.temperature, 0.0, 10.0, lo_open=True),
             "floor": number("floor", model.job.floor, 0.0, 0.0039),
             "top_p": number("top_p", model.job.top_p, 0.01, 1.0)}
        try:
            p.update(model.job.serve_params(q, body, number, model.gen, lim))
        except AudioRNNError as e:
            raise ApiError(400, str(e)) from None
        return p

    def public_error(self, message: str) -> str:
        """An error as a client may see it: the server's own paths replaced by what they are."""
        message = re.sub(re.escape(str(self.workdir)) + r"/upload-[0-9a-f]+\.bin", "the upload",
                         message)
        message = message.replace(str(self.workdir), "the server's folder")
        for m in self.models.values():
            message = message.replace(str(m.path.resolve()), m.id).replace(str(m.path), m.id)
        return message

    def job(self, job_id: str) -> Task:
        with self.lock:
            job = self.jobs.get(job_id)
        if job is None:
            raise ApiError(404, f"no job {job_id!r}")
        return job

    def file(self, job_id: str, name: str) -> Path:
        job = self.job(job_id)
        if not re.fullmatch(r"\d{2,4}\.(wav|png)", name):
            raise ApiError(404, "no such file")
        if Path(name).stem + ".wav" not in job.results:
            raise ApiError(404, "no such file")
        return self.workdir / job.id / name

    # ------------------------------------------------------------ the work

    def run_job(self, model: Model, job: Task) -> None:
        gen, p = model.gen, job.params
        out = self.workdir / job.id
        out.mkdir()

        started = time.monotonic()

        def progress(f):
            job.progress = float(min(max(f, 0.0), 1.0))
            if time.monotonic() - started > self.limits.max_job_seconds:
                raise AudioRNNError(f"stopped: the job took longer than "
                                    f"{self.limits.max_job_seconds:g} s (--max-job-seconds)")

        paths = model.job.serve_run(gen, p, job.upload, out, progress)
        for path in paths:
            waveform_png(path, path.with_suffix(".png"))
        job.results = [path.name for path in paths]

    def close(self) -> None:
        """Stops the workers (after their current job) and deletes the results."""
        for m in self.models.values():
            try:
                m.queue.put_nowait(None)
            except queue.Full:
                pass  # daemon threads end with the process
        shutil.rmtree(self.workdir, ignore_errors=True)


# ---------------------------------------------------------------- HTTP


class Handler(BaseHTTPRequestHandler):
    """The API and the page over an `App` (bound by `make_handler`)."""

    server_version = "audiornn"
    app: App

    def log_message(self, fmt, *args):  # quiet unless debugging
        log.debug("%s - %s", self.address_string(), fmt % args)

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client went away
            self.close_connection = True
            log.info("%s went away before the answer to %s %s was sent",
                     self.client_address[0], self.command, urlparse(self.path).path)

    def _json(self, status: int, obj) -> None:
        self._send(status, json.dumps(obj).encode(), "application/json")

    def _error(self, e: ApiError) -> None:
        self._json(e.status, {"error": e.message})

    def do_GET(self):  # noqa: N802
        url = urlparse(self.path)
        parts = [p for p in url.path.split("/") if p]
        try:
            if not parts:
                from audiornn.web.page import PAGE

                self._send(200, PAGE.encode(), "text/html; charset=utf-8")
            elif parts == ["api", "runs"]:
                self._json(200, self.app.runs())
            elif len(parts) == 3 and parts[:2] == ["api", "jobs"]:
                self._json(200, self.app.job(parts[2]).public())
            elif len(parts) == 3 and parts[0] == "files":
                path = self.app.file(parts[1], parts[2])
                ctype = "audio/wav" if path.suffix == ".wav" else "image/png"
                self._send(200, path.read_bytes(), ctype)
            else:
                raise ApiError(404, "not found")
        except ApiError as e:
            self._error(e)

    def _content_length(self) -> int:
        text = self.headers.get("Content-Length")
        if text is None:  # chunked or unframed bodies are not read
            self.close_connection = True
            raise ApiError(411, "a Content-Length header is required (0 without an upload)")
        try:
            length = int(text)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            raise ApiError(400, f"bad Content-Length {text!r}")
        return length

    def _refuse_upload(self, length: int, limit: int) -> None:
        """Answered before the body is read; then the body is read and dropped (up to
        a cap, for a few seconds), so that a client still sending sees the answer
        instead of a reset connection. Nothing of it is kept."""
        self.close_connection = True
        self._error(ApiError(413, f"upload of {length / 2**20:.1f} MB is over the "
                                  f"{self.app.limits.max_upload_mb:g} MB limit"))
        self.connection.settimeout(5)
        left = min(length, 16 * limit)
        try:
            while left > 0:
                chunk = self.rfile.read(min(left, 1 << 16))
                if not chunk:
                    break
                left -= len(chunk)
        except OSError:
            pass

    def do_POST(self):  # noqa: N802
        url = urlparse(self.path)
        parts = [p for p in url.path.split("/") if p]
        try:
            if len(parts) != 4 or parts[:2] != ["api", "runs"] or parts[3] != "jobs":
                raise ApiError(404, "not found")
            length = self._content_length()
            limit = int(self.app.limits.max_upload_mb * 1024 * 1024)
            if length > limit:
                self._refuse_upload(length, limit)
                return
            body = self.rfile.read(length) if length else None
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            job = self.app.submit(parts[2], query, body)
            self._json(202, job.public())
        except ApiError as e:
            self._error(e)


def make_handler(app: App):
    """The request handler class for `app`."""
    return type("AppHandler", (Handler,), {"app": app})


class Server(ThreadingHTTPServer):
    """One thread per connection; a client that goes away mid-request is one log line."""

    daemon_threads = True

    def handle_error(self, request, client_address):
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):  # reset, broken pipe
            log.info("%s went away mid-request (%s)", client_address[0], sys.exc_info()[1].__class__.__name__)
            return
        super().handle_error(request, client_address)  # anything else is a bug: its traceback


def serve(app: App, host: str = "127.0.0.1", port: int = 8000) -> ThreadingHTTPServer:
    """Binds the server (port 0 picks a free one); call serve_forever() on the result."""
    try:
        return Server((host, port), make_handler(app))
    except OSError as e:
        raise AudioRNNError(f"cannot listen on {host}:{port} ({e.strerror})") from None
