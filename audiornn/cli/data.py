"""`python -m audiornn data`: turn audio files and folders into a dataset directory.

Which kind of dataset (which job's) follows from the options given; the job builds it.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np

from audiornn import cli, jobs
from audiornn import data as dataset
from audiornn.progress import Progress

log = logging.getLogger("audiornn.data")
PROG = "python -m audiornn data"


def make_parser():
    d = dataset.DataConfig()
    p = cli.parser(PROG, "Build a training dataset (mu-law codes, memory-mapped) from audio.")
    p.add_argument("sources", nargs="*", metavar="SOURCE",
                   help="audio files or folders (searched recursively)")
    p.add_argument("--out", required=True, help="dataset directory to create")
    p.add_argument("--sample-rate", type=cli.bounded(int, 1000, 384000), default=None,
                   help=f"model sample rate in Hz (default {d.sample_rate}; dry/wet pairs: the "
                        "dry recording's own rate; --oneshot: the kit's own rate when all "
                        "hits share one, else 44100)")
    p.add_argument("--preemphasis", type=cli.bounded(float, 0, 0.999), default=None,
                   help=f"pre-emphasis coefficient in [0, 1) (default {d.preemphasis}; pairs and "
                        "one-shots 0: de-emphasis would integrate the model's errors into drift)")
    p.add_argument("--val-fraction", type=cli.fraction, default=d.val_fraction,
                   help="share of audio held out for validation (default %(default)s)")
    p.add_argument("--seed", type=int, default=d.seed, help="seed of the split")
    p.add_argument("--strict", action="store_true",
                   help="fail on the first bad file instead of skipping it")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    p.add_argument("--demo", nargs="?", const="music", choices=["music", "speech"], default=None,
                   help="build from a bundled, synthesized corpus instead of SOURCE: music (the "
                        "default) or speech (speech-like utterances from a source-filter "
                        "synthesizer)")
    e = p.add_argument_group("effects (dry/wet pairs)")
    e.add_argument("--pair", nargs=2, action=PairAction, metavar=("DRY", "WET"), dest="pairs",
                   help="a dry recording and the same through the effect (repeatable)")
    e.add_argument("--knob", action=KnobAction, metavar="NAME=VALUE[,NAME=VALUE]", dest="knobs",
                   help="the effect's knob settings for the --pair before it (repeat --pair "
                        "... --knob gain=0.3 for each recorded setting); the model learns to "
                        "follow them and generate --knob interpolates")
    e.add_argument("--dry-dir", help="folder of dry files, matched by name with --wet-dir")
    e.add_argument("--wet-dir", help="folder of wet files")
    e.add_argument("--latency", type=int, metavar="N",
                   help="delay of wet behind dry in samples at --sample-rate (default: estimated)")
    o = p.add_argument_group("one-shots (drum hits)")
    o.add_argument("--oneshot", metavar="DIR",
                   help="a folder of hits; labels are the files' folder names (kick/, snare/, ...)")
    o.add_argument("--align", choices=("onset", "peak"), default=None,
                   help="what lands at --attack: the hit's onset (its first sample within "
                        "40 dB of its peak; the default, as sample packs start) or its peak "
                        "(the default for --demo-kit)")
    o.add_argument("--attack", type=cli.bounded(float, 0, 60), default=None,
                   help="seconds of silence before the hit's onset or peak (--align; default "
                        "0 for onsets, 0.1 for peaks)")
    o.add_argument("--hit-level", choices=("peak", "off"), default=None,
                   help="off: the files' own levels, velocity layers stay soft (the default); "
                        "peak: every hit's peak at -1 dBFS, as sample packs are")
    o.add_argument("--envelope", choices=("on", "off"), default=None,
                   help="on: the model also sees each hit's level over time (its envelope), "
                        "and makes hits that follow a training hit's (the default); off: it "
                        "finds the level from the samples alone")
    o.add_argument("--length", type=cli.bounded(float, 0, 60, lo_open=True), default=0.4,
                   help="seconds per hit (default %(default)s)")
    o.add_argument("--label", help="one label for every hit (a flat folder)")
    o.add_argument("--demo-kit", action="store_true",
                   help="build a one-shot dataset from the bundled, synthesized drum kit")
    p.add_argument("--max-silence", type=cli.bounded(float, 0, 1e6), default=None, metavar="SECONDS",
                   help="shorten every silent stretch (below -50 dBFS) to this length; default 0.25 "
                        "for recordings, 0 (keep) for pairs and hits")
    p.add_argument("--conditions", metavar="CSV",
                   help="continuous conditions per file: a CSV with a header file,NAME[,NAME...] "
                        "and one line of numbers per file (its name); the model learns to follow them")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.add_argument("-v", "--verbose", action="store_true")
    return p


class PairAction(argparse.Action):
    """--pair DRY WET, repeatable; each pair gets a slot for its --knob settings."""

    def __call__(self, parser, namespace, values, option_string=None):
        namespace.pairs = (namespace.pairs or []) + [list(values)]
        namespace.knobs = (getattr(namespace, "knobs", None) or []) + [{}]


class KnobAction(argparse.Action):
    """--knob NAME=VALUE[,...]: the settings of the --pair just before it."""

    def __call__(self, parser, namespace, values, option_string=None):
        if not namespace.pairs:
            parser.error("--knob follows the --pair it describes")
        for part in values.split(","):
            name, sep, value = part.partition("=")
            try:
                number = float(value)
            except ValueError:
                number = float("nan")
            if not sep or not name.strip() or not np.isfinite(number):
                parser.error(f"--knob expects NAME=NUMBER, got {part!r}")
            namespace.knobs[-1][name.strip()] = [number]


def progress_bars(total_seconds: float, n_files: int, quiet: bool = False):
    """A progress callback for the build: one bar per pass, in x real time of source audio."""
    bars: dict = {}

    def update(stage: str, seconds_done: float, files_done: int) -> None:
        if stage not in bars:
            bars[stage] = Progress(round(total_seconds, 2), "s of audio", quiet, per_second=1.0,
                                   title=f"{stage}: {n_files} files, {total_seconds / 60:.1f} min of audio")
        bars[stage](round(min(seconds_done, total_seconds), 2), files=files_done)

    return update


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
    cut = meta.get("max_silence", {})
    if cut.get("seconds"):
        lines.append(f"  silences longer than {cut['seconds']:g} s (below {cut['threshold_db']:g} dBFS) "
                     f"shortened: {cut['removed_seconds']:.1f} s of silence removed")
    lines += jobs.get(meta["job"]).describe_dataset(meta)
    for name, c in meta.get("conditions", {}).items():
        if name == "envelope" and meta.get("oneshot", {}).get("envelope"):
            continue  # the one-shot job's own line says it
        rng = f", {c['min']} to {c['max']}" if "min" in c else ""
        lines.append(f"  condition {name}: {c['size']} value(s) per {c['per']}{rng}")
    for s in meta["skipped"]:
        lines.append(f"  skipped {s['source']}: {s['reason']}")
    return "\n".join(lines)


def main(argv=None) -> int:
    args = make_parser().parse_args(argv)
    cli.setup_logging(args.verbose)

    request = {k: getattr(args, k) for k in (
        "sources", "demo", "pairs", "dry_dir", "wet_dir", "latency", "oneshot", "demo_kit",
        "attack", "align", "hit_level", "envelope", "length", "label", "conditions", "knobs")}
    def body():
        meta = jobs.build_dataset(
            request, args.out, sample_rate=args.sample_rate, preemphasis=args.preemphasis,
            val_fraction=args.val_fraction, seed=args.seed, strict=args.strict,
            overwrite=args.overwrite, progress=lambda total, n: progress_bars(total, n, args.quiet),
            max_silence=args.max_silence)
        print(summarize(meta, Path(args.out)))

    return cli.run(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
