"""imagetagger: the shared package of the Lambda layer (no torch here)."""

__version__ = "0.1.0"
