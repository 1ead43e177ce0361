"""Errors that reach the user: each message says what went wrong and what to do about it."""


class WeightsError(RuntimeError):
    """Model weights are missing, unreadable, or of a kind that could run code when loaded."""


class SourceError(RuntimeError):
    """A camera, video, image or folder cannot be read."""


class OutputError(SourceError):
    """A file the app would write is refused (it would replace an input) or cannot be written.

    A SourceError too, so every place that already reports source problems reports these the same way.
    """
