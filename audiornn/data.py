"""`python -m audiornn.data`: turn audio files and folders into a dataset directory."""

from __future__ import annotations

import logging
import sys
import tempfile
from pathlib import Path

from audiornn import audio, cli, corpus, dataset
from audiornn.errors import AudioRNNError

log = logging.getLogger("audiornn.data")
PROG = "python -m audiornn.data"


def make_parser():
    d = dataset.DataConfig()
    p = cli.parser(PROG, "Build a training dataset (mu-law codes, memory-mapped) from audio.")
    p.add_argument("sources", nargs="*", metavar="SOURCE",
                   help="audio files or folders (searched recursively)")
    p.add_argument("--out", required=True, help="dataset directory to create")
    p.add_argument("--sample-rate", type=cli.positive_int, default=d.sample_rate,
                   help="model sample rate in Hz (default %(default)s)")
    p.add_argument("--preemphasis", type=float, default=None,
                   help=f"pre-emphasis coefficient in [0, 1) (default {d.preemphasis}; pairs and "
                        "one-shots 0: de-emphasis would integrate the model's errors into drift)")
    p.add_argument("--val-fraction", type=cli.fraction, default=d.val_fraction,
                   help="share of audio held out for validation (default %(default)s)")
    p.add_argument("--seed", type=int, default=d.seed, help="seed of the split")
    p.add_argument("--strict", action="store_true",
                   help="fail on the first bad file instead of skipping it")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    p.add_argument("--demo", action="store_true",
                   help="build from the bundled, synthesized default corpus instead of SOURCE")
    e = p.add_argument_group("effects (dry/wet pairs)")
    e.add_argument("--pair", nargs=2, action="append", metavar=("DRY", "WET"),
                   help="a dry recording and the same through the effect (repeatable)")
    e.add_argument("--dry-dir", help="folder of dry files, matched by name with --wet-dir")
    e.add_argument("--wet-dir", help="folder of wet files")
    e.add_argument("--latency", type=int, metavar="N",
                   help="delay of wet behind dry in samples at --sample-rate (default: estimated)")
    o = p.add_argument_group("one-shots (drum hits)")
    o.add_argument("--oneshot", metavar="DIR",
                   help="a folder of hits; labels are the files' folder names (kick/, snare/, ...)")
    o.add_argument("--attack", type=float, default=0.1,
                   help="seconds of the hit before its peak (default %(default)s)")
    o.add_argument("--length", type=float, default=0.4,
                   help="seconds per hit (default %(default)s)")
    o.add_argument("--label", help="one label for every hit (a flat folder)")
    o.add_argument("--demo-kit", action="store_true",
                   help="build a one-shot dataset from the bundled, synthesized drum kit")
    p.add_argument("-v", "--verbose", action="store_true")
    return p


class ProgressBars:
    """Keras progress bars for the scan and encode passes, in seconds of source audio."""

    def __init__(self, total_seconds: float, n_files: int):
        self.total, self.n_files, self.bars = max(total_seconds, 1e-9), n_files, {}

    def __call__(self, stage: str, seconds_done: float, files_done: int) -> None:
        from keras.utils import Progbar

        if stage not in self.bars:
            print(f"{stage}: {self.n_files} files, {self.total / 60:.1f} min of audio",
                  file=sys.stderr)
            self.bars[stage] = Progbar(round(self.total, 2), unit_name="s of audio",
                                       stateful_metrics=["files"])
        self.bars[stage].update(round(min(seconds_done, self.total), 2),
                                values=[("files", files_done)])


def summarize(meta: dict, out: Path) -> str:
    c = meta["counts"]
    lines = [
        f"dataset written to {out}",
        f"  files used: {c['files']}, skipped: {c['skipped']}"
        + (f", non-audio files ignored: {c['ignored_non_audio']}" if c.get("ignored_non_audio")
           else ""),
        f"  train: {c['train_hours'] * 60:.2f} min, validation: {c['val_hours'] * 60:.2f} min "
        f"at {meta['sample_rate']} Hz ({meta['n_codes']} codes per stream)",
        "  gain: " + ", ".join(f"{k} {v['gain_db']:+.1f} dB" for k, v in meta["streams"].items()),
    ]
    if meta.get("job") == "oneshot":
        per = {}
        for seg in meta["segments"]:
            name = meta["labels"][seg["label"]]
            per.setdefault(name, [0, 0])[seg["split"] == "val"] += 1
        o = meta["oneshot"]
        lines.append(f"  hits of {o['length']:g} s, peak at {o['attack']:g} s; per label "
                     "(train/val): " + ", ".join(f"{k} {v[0]}/{v[1]}" for k, v in per.items()))
    for src in meta["sources"]:
        if "latency" in src:
            lines.append(f"  {src['name']}: latency {src['latency']:+d} samples "
                         f"({1000 * src['latency'] / meta['sample_rate']:+.2f} ms), "
                         f"correlation {src['correlation']:.2f}")
    for s in meta["skipped"]:
        lines.append(f"  skipped {s['source']}: {s['reason']}")
    return "\n".join(lines)


def main(argv=None) -> int:
    args = make_parser().parse_args(argv)
    cli.setup_logging(args.verbose)

    def body():
        # De-emphasis integrates a model's code errors into low-frequency drift: harmless
        # in long generated audio, glaring in an effect's output or a one-shot's silent tail.
        paired = bool(args.pair or args.dry_dir or args.wet_dir)
        preemphasis = args.preemphasis
        if preemphasis is None:
            preemphasis = 0.0 if (paired or args.oneshot or args.demo_kit) \
                else dataset.DataConfig.preemphasis
        config = dataset.DataConfig(sample_rate=args.sample_rate, preemphasis=preemphasis,
                                    val_fraction=args.val_fraction, seed=args.seed,
                                    strict=args.strict)
        config.validate()
        out = Path(args.out)
        if out.exists() and not args.overwrite:
            raise AudioRNNError(f"{out}: already exists (use --overwrite to replace it)")
        if args.oneshot or args.demo_kit:
            if args.sources or args.demo or args.pair or args.dry_dir or \
                    (args.oneshot and args.demo_kit):
                raise AudioRNNError("--oneshot DIR (or --demo-kit) goes alone: not with SOURCE, "
                                    "--demo or pairs")
            with tempfile.TemporaryDirectory(prefix="audiornn-kit-") as tmp:
                folder = args.oneshot
                if args.demo_kit:
                    log.info("synthesizing the default drum kit")
                    corpus.write_demo_kit(tmp)
                    folder = tmp
                n_files = len(dataset.collect_files([folder])[0]) if Path(folder).is_dir() else 0
                meta = dataset.build_oneshots(folder, out, config, attack=args.attack,
                                              length=args.length, label=args.label,
                                              overwrite=args.overwrite,
                                              progress=ProgressBars(n_files * args.length,
                                                                    n_files))
            print(summarize(meta, out))
            return
        if args.label:
            raise AudioRNNError("--label applies to --oneshot folders")
        pairs = [tuple(p) for p in args.pair or []]
        if bool(args.dry_dir) != bool(args.wet_dir):
            raise AudioRNNError("--dry-dir and --wet-dir go together")
        if args.dry_dir:
            pairs += dataset.match_dirs(args.dry_dir, args.wet_dir)
        if pairs:
            if args.sources or args.demo:
                raise AudioRNNError("give either dry/wet pairs or SOURCE/--demo, not both")
            total = sum(max(audio.seconds(d), audio.seconds(w)) for d, w in pairs
                        if Path(d).is_file() and Path(w).is_file())
            meta = dataset.build_pairs(pairs, out, config, latency=args.latency,
                                       overwrite=args.overwrite,
                                       progress=ProgressBars(total, 2 * len(pairs)))
            print(summarize(meta, out))
            return
        if args.latency is not None:
            raise AudioRNNError("--latency applies to dry/wet pairs only")
        if args.demo and args.sources:
            raise AudioRNNError("give either SOURCE or --demo, not both")
        if not args.demo and not args.sources:
            raise AudioRNNError("no SOURCE given (or use --demo for the bundled corpus)")
        with tempfile.TemporaryDirectory(prefix="audiornn-demo-") as tmp:
            sources = args.sources
            if args.demo:
                log.info("synthesizing the default corpus")
                corpus.write_demo_corpus(tmp)
                sources = [tmp]
            files, _ = dataset.collect_files(sources)
            total = sum(audio.seconds(f) for f in files)
            meta = dataset.build_from_sources(sources, out, config, overwrite=args.overwrite,
                                              progress=ProgressBars(total, len(files)))
        print(summarize(meta, out))

    return cli.run(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
