"""Errors that reach the user: each message says what went wrong and what to do about it."""
from __future__ import annotations

from pathlib import Path


class WeightsError(RuntimeError):
    """Model weights are missing, unreadable, or of a kind that could run code when loaded."""


class SourceError(RuntimeError):
    """A camera, video, image or folder cannot be read."""


class OutputError(SourceError):
    """A file the app would write is refused (it would replace an input) or cannot be written.

    A SourceError too, so every place that already reports source problems reports these the same way.
    """


# smaller than any model this project makes: a Git LFS pointer, an empty download, a truncated copy
MIN_WEIGHTS_FILE_BYTES = 1024


def check_weights_file(path: Path, what: str, hint: str, shipped: bool) -> None:
    """WeightsError for `what` ("face-detector") weights that are missing or too small to be weights;
    `hint` says how to make new ones, and a `shipped` file (the default) how to restore it."""
    if not path.is_file():
        restore = "restore the file (`git checkout -- weights/`) or " if shipped else "check the path, or "
        raise WeightsError(f"No {what} weights at {path}: {restore}{hint}.")
    if path.stat().st_size < MIN_WEIGHTS_FILE_BYTES:
        raise WeightsError(f"The {what} weights at {path} are damaged (too small; a Git LFS pointer?): "
                           f"restore the file or {hint}.")


def refuse_unsafe_weights(path: Path, safe_suffix: str, checkpoint_suffix: str, trust_checkpoint: bool,
                          checkpoint_advice: str, wrong_kind_advice: str) -> None:
    """Raise WeightsError, before anything is read, for a file whose loading could run code.

    `safe_suffix` files (ONNX, TFLite) hold tensors and built-in ops only; `checkpoint_suffix` files
    (pickles, Keras archives) may run code when loaded and pass only with `trust_checkpoint`. The two
    advice texts say what to do instead, for a checkpoint and for any other file.
    """
    suffix = path.suffix.lower()
    if suffix == safe_suffix or (suffix == checkpoint_suffix and trust_checkpoint):
        return
    raise WeightsError(checkpoint_advice if suffix == checkpoint_suffix else wrong_kind_advice)


def missing_package_message(path: Path, exc: ModuleNotFoundError, export_command: str) -> str:
    """For weights that need a package the app's own install (`pip install -e .`) leaves out, such as torch
    for a .pt detector: the file is fine, so say what to install, or how to make a file that needs none.
    It used to say "could not be loaded (No module named 'torch'): restore the file", which sent users
    after a file that was not damaged."""
    return (f"{path.name} needs the Python package '{exc.name}', which this install lacks: install the training "
            f"stack with `pip install -r requirements.txt`, or convert the file where that is installed "
            f"(`{export_command}`) and use the converted one.")
