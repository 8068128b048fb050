"""A quiet command line: the native libraries' own log lines are kept off the terminal.

TensorFlow's and XLA's C++ code logs through absl straight to file
descriptor 2 ("I0000 ... cudart_stub.cc:31] Could not find cuda drivers",
"E0000 ... failed call to cuInit", "To enable the following instructions:
AVX2 ..."), whatever TF_CPP_MIN_LOG_LEVEL says. When audiornn runs as a
command, descriptor 2 goes through a filter that drops those lines and passes
everything else; `--verbose` (or AUDIORNN_VERBOSE=1) leaves it alone.
"""

from __future__ import annotations

import atexit
import os
import re
import sys
import threading

NATIVE = re.compile(
    rb"^(?:[IWEF]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ [\w.\-]+:\d+\]"  # absl/glog lines
    rb"|WARNING: All log messages before absl::InitializeLog\(\)"
    rb"|To enable the following instructions:"
    rb"|\[Gloo\] "
    rb"|Unable to initialize backend '(?:tpu|cuda|rocm)'"
    rb"|An NVIDIA GPU may be present on this machine"
    rb"|(?:\S+: )?UserWarning: .*warn\(|\s+warnings\.warn\()")


def _pump(read_fd: int, out_fd: int) -> None:
    with os.fdopen(read_fd, "rb", buffering=0) as pipe:
        pending = b""
        while True:
            chunk = pipe.read(65536)
            if not chunk:
                break
            pending += chunk
            *lines, pending = pending.split(b"\n")
            keep = [ln for ln in lines if not NATIVE.match(ln)]
            if keep:
                os.write(out_fd, b"\n".join(keep) + b"\n")
            if pending and not pending.startswith((b"I0", b"W0", b"E0", b"F0", b"WARNING: All")):
                os.write(out_fd, pending)  # progress bars redraw without a newline
                pending = b""
        if pending and not NATIVE.match(pending):
            os.write(out_fd, pending)


def install() -> None:
    """Routes descriptor 2 through the filter (once, for a command-line run)."""
    if os.environ.get("AUDIORNN_VERBOSE") == "1" or "--verbose" in sys.argv[1:]:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        sys.stderr.flush()
        original = os.dup(2)
        read_fd, write_fd = os.pipe()
        os.dup2(write_fd, 2)
        os.close(write_fd)
    except OSError:
        return
    thread = threading.Thread(target=_pump, args=(read_fd, original), daemon=True)
    thread.start()

    def restore() -> None:
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os.dup2(original, 2)  # closes the pipe's last writer: the pump drains and ends
        thread.join(timeout=5)

    atexit.register(restore)
