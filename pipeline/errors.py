"""Errors that reach the user: each message says what went wrong and what to do about it."""


class WeightsError(RuntimeError):
    """Model weights are missing or unreadable."""


class SourceError(RuntimeError):
    """A camera, video, image or folder cannot be read."""
