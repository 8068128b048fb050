"""`python -m audiornn serve RUN [RUN ...]`: the local web page."""

from __future__ import annotations

import sys

from audiornn import cli
from audiornn.web.server import App, Limits, serve

PROG = "python -m audiornn serve"


def make_parser():
    lim = Limits()
    p = cli.parser(PROG, "A local web page for generating, applying effects and making one-shots.")
    p.add_argument("runs", nargs="+", metavar="RUN", help="run directories to offer")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default %(default)s)")
    p.add_argument("--port", type=int, default=8000, help="port (default %(default)s; 0: any)")
    p.add_argument("--max-seconds", type=cli.positive_float, default=lim.max_seconds,
                   help="longest generation per request (default %(default)s)")
    p.add_argument("--max-count", type=cli.positive_int, default=lim.max_count,
                   help="most one-shots per request (default %(default)s)")
    p.add_argument("--max-upload-mb", type=cli.positive_float, default=lim.max_upload_mb,
                   help="largest upload (default %(default)s)")
    p.add_argument("--queue", type=cli.positive_int, default=lim.queue,
                   help="jobs that may wait per model (default %(default)s)")
    p.add_argument("--max-prime-seconds", type=cli.positive_float, default=lim.max_prime_seconds,
                   help="longest prime upload (default %(default)s)")
    p.add_argument("--max-job-seconds", type=cli.positive_float, default=lim.max_job_seconds,
                   help="a job running longer is stopped (default %(default)s)")
    return p


def main(argv=None) -> int:
    args = make_parser().parse_args(argv)
    cli.setup_logging()

    def body():
        limits = Limits(args.max_seconds, args.max_count, args.max_upload_mb, args.queue,
                        args.max_prime_seconds, args.max_job_seconds)
        app = App(args.runs, limits)
        server = serve(app, args.host, args.port)
        host, port = server.server_address[:2]
        print(f"audiornn: serving {', '.join(app.models)} on http://{host}:{port}/ "
              "(Ctrl-C stops)", flush=True)
        try:
            server.serve_forever()
        finally:
            server.server_close()
            app.close()

    return cli.run(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
