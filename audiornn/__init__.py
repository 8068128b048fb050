"""audiornn: sample-level recurrent audio models (generate, emulate effects, one-shots)."""

__version__ = "0.1.0"
