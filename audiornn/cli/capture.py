"""`python -m audiornn capture --out FILE`: write the capture (reamp) signal."""

from __future__ import annotations

import sys

from audiornn import cli
from audiornn.data.capture import MAX_MINUTES, MIN_MINUTES, capture_signal

PROG = "python -m audiornn capture"


def make_parser():
    p = cli.parser(PROG, "Write the capture (reamp) signal: play it through the gear and record it.")
    p.add_argument("--out", required=True, help="the WAV file to write")
    p.add_argument("--sample-rate", type=cli.bounded(int, 8000, 384000), default=48000,
                   help="Hz (default 48000)")
    p.add_argument("--minutes", type=float, default=3.0,
                   help=f"length, {MIN_MINUTES:g} to {MAX_MINUTES:g} (default 3)")
    return p


def main(argv=None) -> int:
    args = make_parser().parse_args(argv)
    cli.setup_logging()

    def run():
        from audiornn.data import audio

        x = capture_signal(args.sample_rate, args.minutes)
        audio.write(args.out, x, args.sample_rate, fmt="pcm24")
        print(f"wrote {args.out}: {len(x) / args.sample_rate / 60:g} min at {args.sample_rate} Hz; "
              "play it through the gear, record the output, then: python -m audiornn data "
              f"--pair {args.out} RECORDED.wav --out DATASET (the model takes the capture's "
              f"{args.sample_rate} Hz)")

    return cli.run(PROG, run)


if __name__ == "__main__":
    sys.exit(main())
