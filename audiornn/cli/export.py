"""`python -m audiornn export RUN --format aidax|nam --out FILE`: an effect for plugins."""

from __future__ import annotations

import sys

from audiornn import cli
from audiornn.export import FORMATS, export

PROG = "python -m audiornn export"


def make_parser():
    p = cli.parser(PROG, "Export a regression effect run to AIDA-X (RTNeural JSON) or NAM (.nam).")
    p.add_argument("run", metavar="RUN", help="a run directory trained with --head regression")
    p.add_argument("--format", required=True, choices=FORMATS, dest="fmt")
    p.add_argument("--out", required=True, help="the file to write (.json for aidax, .nam for nam)")
    return p


def main(argv=None) -> int:
    args = make_parser().parse_args(argv)
    cli.setup_logging()
    return cli.run(PROG, lambda: print(export(args.run, args.fmt, args.out)))


if __name__ == "__main__":
    sys.exit(main())
