"""`python -m audiornn generate RUN --out PATH`: the arguments, checked before Keras is imported."""

from __future__ import annotations

import sys

from audiornn import cli

PROG = "python -m audiornn generate"


def make_parser():
    p = cli.parser(PROG, "Generate audio from a trained run, or apply an effect run to a file.")
    p.add_argument("run", metavar="RUN", help="a run directory (python -m audiornn train)")
    p.add_argument("--out", required=True,
                   help="output WAV; with --num > 1 a folder of 01.wav, 02.wav, ... or, for "
                        "NAME.wav, NAME-01.wav, NAME-02.wav, ... beside it")
    p.add_argument("--input", metavar="DRY", dest="input_path",
                   help="effect runs: process this file (any length, format and rate)")
    p.add_argument("--decode", choices=("sample", "argmax", "mean"),
                   help="how a predicted distribution becomes a sample: sample, argmax, or mean "
                        "(the expected value); default argmax with --input, else sample")
    p.add_argument("--seconds", type=cli.bounded(float, 0, 3600, lo_open=True), default=None,
                   help="length of each file (default 4; one-shots: the hit length)")
    p.add_argument("--num", type=cli.bounded(int, 1, 10000), default=1,
                   help="number of streams/files (at most 10000)")
    p.add_argument("--temperature", type=cli.bounded(float, 1e-3, 100), default=None,
                   help="> 0; below 1 is more conservative, above 1 wilder (default 1; one-shots 0.9)")
    p.add_argument("--floor", type=cli.bounded(float, 0, 0.0039), default=None, metavar="P",
                   help="drop P from every code's probability at each step and renormalize: "
                        "cuts the noise floor the unlikely codes add (LPCNet's trick; default: "
                        "the job's, see the README)")
    p.add_argument("--top-p", type=cli.bounded(float, 0, 1, lo_open=True), default=None,
                   metavar="P", help="nucleus sampling: draw only from the likeliest codes that "
                                     "together hold P of the probability (default 1: all)")
    p.add_argument("--gate", type=cli.bounded(float, 0, 200), default=None, metavar="DB",
                   help="one-shots: end each hit once it has fallen DB below its peak, or "
                        "before it fires again (default 60; 0: the model alone, late bursts "
                        "and clicks included)")
    p.add_argument("--greedy", action="store_true", help="always take the most likely code")
    p.add_argument("--prime", metavar="WAV", help="continue this audio (any format or rate)")
    p.add_argument("--seed", type=int, default=0, help="same seed, same output")
    p.add_argument("--batch-size", type=cli.bounded(int, 1, 4096), default=64,
                   help="streams per device step")
    p.add_argument("--format", choices=["pcm16", "float"], default="pcm16", dest="fmt",
                   help="16-bit integer (default) or 32-bit float WAV")
    level = p.add_mutually_exclusive_group()
    level.add_argument("--normalize", action="store_const", const=True, default=None,
                       help="scale each file's peak to -1 dBFS (the default for one-shots, as "
                            "sample packs are; otherwise only files that would clip are turned "
                            "down to -1 dBFS)")
    level.add_argument("--no-normalize", dest="normalize", action="store_const", const="off",
                       help="keep the model's level, even where a 16-bit file then clips")
    p.add_argument("--label", help="labelled runs (one-shots): the class to generate")
    p.add_argument("--mix", help="labelled runs: blend classes, e.g. kick=0.3,snare=0.7")
    p.add_argument("--at", metavar="X,Y",
                   help="one-shot runs with a map: generate at this point of the map (its "
                        "coordinates: RUN/map.json, the eval picture or the web page)")
    p.add_argument("--like", metavar="HIT.wav",
                   help="one-shot runs with a map: place this hit on the map (the point where the "
                        "model finds it most likely) and generate variations of it")
    p.add_argument("--spread", type=cli.nonneg_float, default=0.1,
                   help="--at/--like with --num: how far the variations stray, as a fraction of "
                        "the map's radius (default %(default)s; the first file is at the point)")
    p.add_argument("--cond", "--knob", metavar="NAME=VALUE[,...]",
                   help="runs trained with conditions (data --conditions): their values, e.g. "
                        "amp=0.5; effects: knob settings, e.g. --knob gain=0.45 (default: the "
                        "middle of the training values)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    return p


def option_values(argv: list[str], options=("--at",)) -> list[str]:
    """`--at -0.5,0.4` as `--at=-0.5,0.4`: argparse takes a value that starts with "-"
    for an option unless it is glued on."""
    out = []
    for a in argv:
        if out and out[-1] in options and a.startswith("-") and a[1:2] in "0123456789.":
            out[-1] = f"{out[-1]}={a}"
        else:
            out.append(a)
    return out


def main(argv=None) -> int:
    argv = option_values(list(sys.argv[1:] if argv is None else argv))
    args = make_parser().parse_args(argv)
    cli.setup_logging()

    def body():
        cli.check_run(args.run, (args.prime, args.input_path, args.like))
        from audiornn.generate import generate

        print(generate(**{k: v for k, v in vars(args).items() if k != "run"}, run=args.run))

    return cli.run(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
