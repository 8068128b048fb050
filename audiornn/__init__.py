"""audiornn: sample-level recurrent audio models (generate, emulate effects, one-shots)."""

__version__ = "0.1.0"

import os as _os
import sys as _sys

# A command-line run (python -m audiornn[.cmd], or the audiornn script): keep the
# native libraries' log lines off the terminal before TensorFlow is imported.
if _sys.argv and (_sys.argv[0] == "-m" or _os.path.basename(_sys.argv[0]) == "audiornn"):
    from audiornn import quiet as _quiet

    _quiet.install()
