"""The one exception type that the command-line tools turn into exit code 2."""


class AudioRNNError(Exception):
    """A problem with the user's input: reported as one line, exit code 2."""
