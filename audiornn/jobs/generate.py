"""The generate job: learn a folder of speech or music, then sample new audio."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence

from audiornn.data import DataConfig, Item, audio, build, collect_files, corpus
from audiornn.data.build import attach_conditions
from audiornn.errors import AudioRNNError
from audiornn.jobs.base import Job, WebForm


def build_from_sources(sources: Sequence[str | os.PathLike], out_dir: str | os.PathLike,
                       config: DataConfig, conditions: str | None = None, **kwargs) -> dict:
    """Builds a generation dataset from files and folders (the data command's default job)."""
    files, ignored = collect_files(sources)
    if not files:
        raise AudioRNNError("no audio files found in " + ", ".join(map(str, sources)))
    items = [Item(streams={"target": str(f)}, name=str(f)) for f in files]
    attach_conditions(items, conditions)
    return build(items, out_dir, config, job="generate", ignored=ignored, **kwargs)


class GenerateJob(Job):
    def build_dataset(self, r: dict, out, config, progress_factory, overwrite: bool) -> dict:
        if r.get("latency") is not None:
            raise AudioRNNError("--latency applies to dry/wet pairs only")
        if r.get("label"):
            raise AudioRNNError("--label applies to --oneshot folders")
        if r.get("demo") and r.get("sources"):
            raise AudioRNNError("give either SOURCE or --demo, not both")
        if not r.get("demo") and not r.get("sources"):
            raise AudioRNNError("no SOURCE given (or use --demo for the bundled corpus)")
        with tempfile.TemporaryDirectory(prefix="audiornn-demo-") as tmp:
            sources = r.get("sources")
            if r.get("demo"):
                write = corpus.write_speech_corpus if r["demo"] == "speech" else corpus.write_demo_corpus
                write(tmp)
                sources = [tmp]
            files, _ = collect_files(sources)
            total = sum(audio.seconds(f) for f in files)
            return build_from_sources(sources, out, config, overwrite=overwrite,
                                            progress=progress_factory(total, len(files)),
                                            conditions=r.get("conditions"))

    def serve_params(self, q: dict, body: bytes | None, number, gen, limits) -> dict:
        return {"seconds": number("seconds", 4.0, 0.0, limits.max_seconds, lo_open=True),
                "prime": bool(body)}

    def serve_run(self, gen, p: dict, upload, out, progress) -> list:
        return gen.write(out / "00.wav", seconds=p["seconds"], seed=p["seed"],
                         temperature=p["temperature"], floor=p.get("floor", 0.0), top_p=p.get("top_p", 1.0),
                         prime=upload,
                         normalize=True, progress=False, callback=progress)


# The tiered core (cores/tiered.py) is the default: on the bundled corpus it scores lower
# than the flat core in the same CPU time (README, scripts/bench_quality.py).
TIERED = {"core": "tiered", "frame": 16, "layers": 2, "units": 256, "sample_units": 256,
          "sample_layers": 2}

JOB = GenerateJob(
    name="generate",
    summary="audio files or folders (SOURCE / --demo)",
    # Long gaps between recordings teach that silence follows silence (a trap for
    # generation); 0.25 s keeps pauses and drops the rest.
    max_silence=0.25,
    # An epoch is 80 steps, about a minute on a 2-core CPU (scripts/bench_presets.py),
    # not a pass over the data: a budget, a preview and the best model come every minute.
    # A step size of 0.003: 0.19-0.23 bit better than 0.001 on real speech in 10 minutes
    # (scripts/bench_speech.py --variants, docs/benchmarks.md).
    defaults={**TIERED, "steps_per_epoch": 80, "learning_rate": 3e-3},
    form=WebForm("gen", "Generate", "generates audio", fields=("seconds",), upload="prime"),
)
