"""forkman: keep a fork's local changes as named overlays on a tracked upstream."""

__version__ = "0.1.0"
