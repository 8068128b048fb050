"""The effect job: learn a dry/wet pair, then apply the effect to any file."""

from __future__ import annotations

from pathlib import Path

from audiornn import heads
from audiornn.data import audio
from audiornn.errors import AudioRNNError
from audiornn.jobs.base import Job, WebForm
from audiornn.jobs.effect_data import build_pairs, match_dirs
from audiornn.streams import code_stream, signal_stream

DECODE_MODES = ("sample", "argmax", "mean")


class EffectJob(Job):
    def claims(self, r: dict) -> bool:
        return bool(r.get("pairs") or r.get("dry_dir") or r.get("wet_dir"))

    def sample_rate(self, r: dict) -> int | None:
        """The first dry recording's own rate: a 48 kHz capture makes a 48 kHz model."""
        dry = [d for d, _ in r.get("pairs") or []]
        if not dry and r.get("dry_dir") and Path(r["dry_dir"]).is_dir():
            dry = sorted(f for f in Path(r["dry_dir"]).iterdir() if f.is_file())
        for f in dry:
            try:
                return audio.info(f).sample_rate_hz
            except AudioRNNError:
                continue  # the build names the bad file
        return None

    def build_dataset(self, r: dict, out, config, progress_factory, overwrite: bool) -> dict:
        if r.get("sources") or r.get("demo"):
            raise AudioRNNError("give either dry/wet pairs or SOURCE/--demo, not both")
        if r.get("label"):
            raise AudioRNNError("--label applies to --oneshot folders")
        pairs = [tuple(p) for p in r.get("pairs") or []]
        if bool(r.get("dry_dir")) != bool(r.get("wet_dir")):
            raise AudioRNNError("--dry-dir and --wet-dir go together")
        if r.get("dry_dir"):
            pairs += match_dirs(r["dry_dir"], r["wet_dir"])
        total = sum(max(audio.seconds(d), audio.seconds(w)) for d, w in pairs
                    if Path(d).is_file() and Path(w).is_file())
        return build_pairs(pairs, out, config, latency=r.get("latency"), overwrite=overwrite,
                                 progress=progress_factory(total, 2 * len(pairs)),
                                 conditions=r.get("conditions"), knobs=r.get("knobs"))

    def describe_dataset(self, meta: dict) -> list[str]:
        return [f"  {s['name']}: latency {s['latency']:+d} samples "
                f"({1000 * s['latency'] / meta['sample_rate']:+.2f} ms), "
                f"correlation {s['correlation']:.2f}"
                + (f"; capture signal: latency from the blips, replicate ESR "
                   f"{s['replicate_esr']:.3%}, validation = its last segment"
                   if s.get("capture") else "")
                for s in meta["sources"] if "latency" in s]

    def input_streams(self, meta: dict, embedding: int, head: str = "classes"):
        if heads.get(head).float_output:  # the dry samples as they are
            return [signal_stream("dry", "input")]
        return [code_stream("dry", "input", embedding)]

    def train_defaults(self, meta: dict, given: dict | None = None) -> dict:
        """The WaveNet core for the regression head, validated and kept as the weights'
        moving average (--ema 0.99, warmed up: on real gear, 10 minutes, 0.51% and 0.58% on
        the whole validation segment against the plain weights' 0.70% and 0.74%, and a
        smooth curve; docs/effects.md); the LSTM for the 256-class head. The WaveNet's
        knobs also scale its layers' gain (on the tube rig's knob test, 10 minutes,
        0.78% against 0.89% on held-out music at the setting never recorded)."""
        head = (given or {}).get("head") or self.defaults["head"]
        regression = heads.get(head).float_output
        return {**self.defaults, "core": "wavenet" if regression else "flat",
                "ema": 0.99 if regression else 0.0, "knob_gain": True}

    def serve_params(self, q: dict, body: bytes | None, number, gen, limits) -> dict:
        if hasattr(gen, "knob_names"):  # a regression Effect: its knobs, no decoding
            if not body:
                raise AudioRNNError("an effect needs a dry audio file (the request body)")
            return {"knobs": {k: number(f"knob.{k}", float(v), -1e6, 1e6)
                              for k, v in zip(gen.knob_names, gen.knobs)}}
        decode = q.get("decode", "argmax")
        if decode not in DECODE_MODES:
            raise AudioRNNError(f"decode must be sample, argmax or mean, got {decode!r}")
        if not body:
            raise AudioRNNError("an effect needs a dry audio file (the request body)")
        return {"decode": decode}

    def serve_run(self, gen, p: dict, upload, out, progress) -> list:
        if "knobs" in p:
            gen.set_knobs(**p["knobs"])
            return [gen.process_file(upload, out / "00.wav", normalize=True, callback=progress)]
        return [gen.apply(upload, out / "00.wav", decode=p["decode"], temperature=p["temperature"],
                          seed=p["seed"], normalize=True, progress=False, callback=progress)]


# The default core is NAM's WaveNet ("feather"): on real gear (scripts/bench_gear.py,
# 5 CPU-minutes, held-out real music) it reached 0.34x the LSTM's ESR through a tube
# stage with a tone stack and 0.08x through a saturator; it trains on every sample of
# a window at once. The LSTM (--core flat) sizes below: 1 x 32 applies an input-only
# model at ~70x real time on a 2-core CPU, and AIDA-X loads it. The regression head is
# the default: after 5 CPU-minutes on the drive test its ESR is 7x lower than the
# 256-class head's (scripts/bench_effect.py), and it is the one that exports to
# plugins. An epoch is 400 steps: about a minute on a 2-core CPU.
JOB = EffectJob(
    name="effect",
    summary="dry/wet pairs (--pair, --dry-dir/--wet-dir)",
    preemphasis=0.0,
    defaults={"layers": 1, "units": 32, "learning_rate": 5e-3, "head": "regression",
              "steps_per_epoch": 400},
    eval_sections=("effect",),
    form=WebForm("fx", "Apply effect", "applies a learned effect", fields=("decode",),
                 upload="dry", upload_required=True),
)
