"""The one-shot job: learn a folder of drum hits, then make new ones by class or blend."""

from __future__ import annotations

import tempfile
from pathlib import Path

from audiornn.data import collect_files, corpus
from audiornn.errors import AudioRNNError
from audiornn.jobs.base import Job, WebForm
from audiornn.jobs.oneshot_data import build_oneshots
from audiornn.streams import envelope_stream, latent_stream, position_stream

#: One-shots' rate when the kit's files do not share one.
KIT_RATE_HZ = 44100
#: Kits above this rate train the tiered core by default, the others the flat core.
TIERED_ABOVE_HZ = 24000
#: The tiered core's training windows on hits: their length and burn-in (later stretches).
HIT_WINDOW, HIT_BURN_IN = 8192, 512
#: ... and the epochs without a better validation before early stopping.
HIT_PATIENCE = 20


class OneshotJob(Job):
    def claims(self, r: dict) -> bool:
        return bool(r.get("oneshot") or r.get("demo_kit"))

    def sample_rate(self, r: dict) -> int | None:
        """The kit's own rate when every hit shares it, else 44.1 kHz: the rate of sample
        packs (a hat's or a cymbal's sound lives above 8 kHz). The synthesized demo kit
        keeps the datasets' 16 kHz default (it is for a quick look and the tests)."""
        if r.get("demo_kit"):
            return None
        from audiornn.data import audio

        rates = set()
        folder = r.get("oneshot")
        for f in (collect_files([folder])[0] if folder and Path(folder).is_dir() else []):
            try:
                rates.add(audio.info(f).sample_rate_hz)
            except AudioRNNError:
                continue  # the build names the bad file
        return rates.pop() if len(rates) == 1 else KIT_RATE_HZ

    def build_dataset(self, r: dict, out, config, progress_factory, overwrite: bool) -> dict:
        if r.get("sources") or r.get("demo") or r.get("pairs") or r.get("dry_dir") or \
                (r.get("oneshot") and r.get("demo_kit")):
            raise AudioRNNError("--oneshot DIR (or --demo-kit) goes alone: not with SOURCE, "
                                "--demo or pairs")
        with tempfile.TemporaryDirectory(prefix="audiornn-kit-") as tmp:
            folder = r.get("oneshot")
            if r.get("demo_kit"):
                corpus.write_demo_kit(tmp)
                folder = tmp
            n_files = len(collect_files([folder])[0]) if Path(folder).is_dir() else 0
            align = r.get("align") or ("peak" if r.get("demo_kit") else "onset")
            attack = r.get("attack")
            attack = (0.1 if align == "peak" else 0.0) if attack is None else attack
            return build_oneshots(folder, out, config, attack=attack, length=r["length"],
                                  align=align, label=r.get("label"), overwrite=overwrite,
                                  hit_level=r.get("hit_level") or "off",
                                  envelope=(r.get("envelope") or "on") == "on",
                                  progress=progress_factory(n_files * r["length"], n_files),
                                  conditions=r.get("conditions"))

    def describe_dataset(self, meta: dict) -> list[str]:
        per: dict = {}
        for seg in meta["segments"]:
            per.setdefault(meta["labels"][seg["label"]], [0, 0])[seg["split"] == "val"] += 1
        o = meta["oneshot"]
        return [f"  hits of {o['length']:g} s, {o.get('align', 'peak')} at {o['attack']:g} s; "
                "per label (train/val): "
                + ", ".join(f"{k} {v[0]}/{v[1]}" for k, v in per.items()),
                "  envelopes: kept; the model learns each hit's shape at an even level, and "
                "generate gives it a training hit's level over time" if o.get("envelope") else
                "  envelopes: off; the model learns the hits' levels from their samples"]

    def streams(self, meta: dict, embedding: int, feedback: bool = True,
                head: str = "classes", **options):
        """The previous code and labels as for every job; then the hit's point on the map
        (--latent-dim, default 2; 0: none), the step's position within the hit and, where
        the dataset holds it (data --envelope on), the hit's level at each step."""
        out = [s for s in super().streams(meta, embedding, feedback, head) if s.name != "envelope"]
        dim = options.get("latent_dim")
        dim = 2 if dim is None else int(dim)
        if dim:
            n_train = sum(1 for s in meta["segments"] if s["split"] == "train")
            out.append(latent_stream(n_train + 1, dim))
        if options.get("position", True) is not False:
            out.append(position_stream())
        if "envelope" in meta.get("conditions", {}):
            out.append(envelope_stream())
        return tuple(out)

    def train_defaults(self, meta: dict, given: dict | None = None) -> dict:
        # The core the measurements chose at the kit's rate: at 44.1 kHz, on a real kit
        # (BJA_Pacific, 10 CPU-minutes, scripts/bench_kits.py), the tiered core scored
        # 3.57 held-out bits (LPC 3.60) where the flat core, at 15 steps of 0.5 s hits,
        # scored 6.37; at 16 kHz the flat core won on the demo kit (see JOB below).
        # The flat core: whole hits from silence (a window covers the hit, nothing to
        # burn in). The tiered core: windows of 8,192 samples, half of them a hit's start
        # from silence, half a later stretch after 512 samples of burn-in, 8 a step: on
        # BJA_Pacific (one core, 10 minutes) its hits start at their onsets and decay, where
        # whole hits (16 or 4 a step: 20 or 60 steps) gave near-silence with clicks, and
        # starts alone (4,096 samples) hits that never decay (docs/oneshots.md).
        hit = int(meta["oneshot"]["length_samples"])
        core = (given or {}).get("core") or \
            ("tiered" if meta["sample_rate"] > TIERED_ABOVE_HZ else "flat")
        if core != "tiered" or hit <= HIT_WINDOW:
            return {**self.defaults, "core": core, "window": hit, "burn_in": 0}
        # Patience 20 epochs (300 steps): at 5, early stopping ended both real kits at
        # minutes 4.4 and 4.8 of 10, on a validation that wanders by 0.1-0.2 bit.
        return {**self.defaults, "core": core, "window": HIT_WINDOW, "burn_in": HIT_BURN_IN,
                "batch_size": 8, "patience": HIT_PATIENCE}

    def serve_params(self, q: dict, body: bytes | None, number, gen, limits) -> dict:
        from audiornn.config import parse_mix
        from audiornn.runtime.hitmap import parse_point

        p = {"count": number("count", 4, 1, limits.max_count, int), "prime": bool(body)}
        if q.get("at") or q.get("like"):  # the map: a clicked point, or a dropped hit
            hm = gen.map()
            if q.get("at") and q.get("like"):
                raise AudioRNNError("give at or like, not both")
            if q.get("like") and not body:
                raise AudioRNNError("like needs a hit (the request body) to place on the map")
            p["spread"] = number("spread", 0.1, 0.0, 2.0)
            p["prime"] = False
            if q.get("at"):
                p["at"] = parse_point(q["at"], hm.dim).tolist()
            else:
                p["like"] = True
            return p
        if q.get("mix"):
            p["mix"] = parse_mix(q["mix"])
            gen.mix_matrix(None, p["mix"], 1)
        else:
            label = q.get("label")
            gen.mix_matrix(label, None, 1)
            p["label"] = label or gen.labels[0]
        return p

    def serve_run(self, gen, p: dict, upload, out, progress) -> list:
        n = p["count"]
        target = out / "00.wav" if n == 1 else out
        if "at" in p or p.get("like"):
            import numpy as np

            from audiornn.runtime.hitmap import hit_envelope, place, variations

            hm = gen.map()
            if p.get("like"):  # placing the hit is the first half of the work
                res = place(gen.model, gen.config, upload, steps=16,
                            progress=lambda i: progress(0.5 * i / 17))
                done = progress
                progress = lambda f: done(0.5 + 0.5 * f)  # noqa: E731
                point = res["point"]
                p["placed"] = {"xy": [round(float(v), 5) for v in point],
                               "nearest": hm.names[res["nearest"]],
                               "label": hm.label_names[res["label"]] if res["label"] >= 0 else None}
            else:
                point = np.asarray(p["at"], np.float64)
            pts = variations(point, n, p["spread"], hm.radius, p["seed"])
            weights = hm.label_weights(pts)
            if p.get("like") and weights is not None and res["label"] >= 0:
                weights[:] = np.eye(len(hm.label_names))[res["label"]]
            env = np.tile(hit_envelope(upload, gen.config), (n, 1)) \
                if p.get("like") and gen.envelope is not None else None
            return gen.write(target, num=n, seed=p["seed"], temperature=p["temperature"],
                             floor=p.get("floor", 0.0), top_p=p.get("top_p", 1.0),
                             points=pts, label_weights=weights, envelopes=env,
                             normalize=True, progress=False, callback=progress,
                             gate_db=self.gate_db)
        return gen.write(target, num=n, seed=p["seed"],
                         temperature=p["temperature"], floor=p.get("floor", 0.0),
                         top_p=p.get("top_p", 1.0),
                         label=p.get("label"), mix=p.get("mix"), prime=upload, normalize=True,
                         progress=False, callback=progress, gate_db=self.gate_db)


JOB = OneshotJob(
    name="oneshot",
    summary="a folder of hits (--oneshot DIR / --demo-kit)",
    preemphasis=0.0,
    # The flat core: on the demo kit (12 hits a label, the demo's budget) the tiered
    # core scored 2.976 bits against the flat core's 2.716, with hats at a 1.6 kHz
    # centroid (real: 6.3 kHz); --core tiered is there for larger kits.
    start_mode="segment",
    # The laptop preset: a 2 x 128 LSTM, 16 hits a step at a larger step size, 15
    # steps an epoch (about a minute on a 2-core CPU). The 2 x 256 LSTM of the other
    # jobs took 25 s a step on a real kit: one step in a minute, no progress
    # (scripts/bench_presets.py: 5.69 against 7.87 held-out bits after a minute).
    defaults={"units": 128, "batch_size": 16, "learning_rate": 3e-3, "steps_per_epoch": 15},
    # At 1.0, 19-50% of the demo kit's generated hits fire a second onset (late clicks);
    # at 0.9, 0-12% (scripts/bench_oneshot.py, README).
    temperature=0.9,
    # Sample packs bring every hit's peak to -1 dBFS; so does generate (--no-normalize: not).
    level="peak",
    # The model alone leaves late bursts and clicks after a real kit's hits (62% of the
    # hits on BJA_Pacific): generate ends each hit once it has fallen 60 dB (--gate 0:
    # the model alone; eval reports both).
    gate_db=60.0,
    eval_sections=("oneshots",),
    form=WebForm("shot", "Generate", "makes one-shots", fields=("count", "label", "mix"),
                 upload="shotprime"),
)
