"""`python -m audiornn eval RUN`: the arguments, checked before Keras is imported."""

from __future__ import annotations

import sys
from pathlib import Path

from audiornn import cli

PROG = "python -m audiornn eval"


def make_parser():
    p = cli.parser(PROG, "Plots and quality numbers for a trained run.")
    p.add_argument("run", metavar="RUN", help="a run directory (python -m audiornn train)")
    p.add_argument("--dataset", help="dataset to score on (default: the run's own)")
    p.add_argument("--audio", nargs="+", metavar="FILE", help="also score these files")
    p.add_argument("--generate", type=cli.bounded(float, 0, 3600, lo_open=True), metavar="SECONDS",
                   help="generate this much audio and compare it with held-out audio")
    p.add_argument("--compare", nargs="+", metavar="WAV",
                   help="compare existing (generated) files with held-out audio")
    p.add_argument("--input", metavar="DRY", help="effect runs: a dry file to apply the effect to")
    p.add_argument("--target", metavar="WET", help="effect runs: the wet recording of --input")
    p.add_argument("--decode", choices=["sample", "argmax", "mean"], default="argmax",
                   help="effect runs: how outputs are decoded (default %(default)s)")
    p.add_argument("--hits", type=cli.bounded(int, 0, 1000), default=8,
                   help="one-shot runs: hits generated per label for the comparison (default %(default)s)")
    p.add_argument("--max-seconds", type=cli.bounded(float, 0, 1e6, lo_open=True), default=120.0,
                   help="score at most this much held-out audio (default %(default)s)")
    p.add_argument("--split", type=cli.bounded(float, 0, 1e6, lo_open=True), metavar="SECONDS",
                   help="score long files as pieces of this length side by side (faster; each "
                        "piece starts from a fresh state instead of the state carried over)")
    p.add_argument("--lpc-order", type=cli.bounded(int, 1, 64), default=32,
                   help="order of the linear-prediction baseline (default %(default)s)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--temperature", type=cli.bounded(float, 1e-3, 100), default=None,
                   help="for the generated audio (default: the job's, 1; one-shots 0.9)")
    p.add_argument("--floor", type=cli.bounded(float, 0, 0.0039), default=None, metavar="P",
                   help="for the generated audio: the probability floor cut at each step "
                        "(default: the job's; see generate --floor)")
    p.add_argument("--top-p", type=cli.bounded(float, 0, 1, lo_open=True), default=None,
                   metavar="P", help="for the generated audio: nucleus sampling's share "
                                     "(default 1; see generate --top-p)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    return p


def main(argv=None) -> int:
    args = make_parser().parse_args(argv)
    cli.setup_logging()

    def body():
        cli.check_run(args.run, [*(args.audio or []), *(args.compare or []), args.input, args.target])
        from audiornn.evaluation.evaluate import evaluate
        from audiornn.evaluation.report import table

        result = evaluate(args.run, dataset_dir=args.dataset, audio_files=args.audio,
                          generate_seconds=args.generate or 0.0, compare=args.compare,
                          max_seconds=args.max_seconds, lpc_order=args.lpc_order, seed=args.seed,
                          temperature=args.temperature, split_seconds=args.split or 0.0,
                          effect_input=args.input, effect_target=args.target, decode=args.decode,
                          hits_per_label=args.hits, quiet=args.quiet, floor=args.floor,
                          top_p=args.top_p)
        print(table(result))
        print(f"eval.json written to {Path(args.run) / 'eval.json'}")

    return cli.run(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
