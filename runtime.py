"""Process-wide facts about the ML stack that must hold before any model library is imported.

* torch/torchvision must be imported before TensorFlow: the other order segfaults inside YOLO's
  predict() (triton's native library loaded after TF's). Every module that needs TensorFlow gets it
  from `import_tensorflow()` here instead of importing it directly.
* ultralytics must never touch the network (no pip installs, analytics or update checks, no font
  downloads): `configure_environment()` sets that up before its first import.
"""
from __future__ import annotations

import os

from core.paths import REPO_ROOT


def configure_environment() -> None:
    """Environment for ultralytics, TensorFlow and OpenCV: offline, quiet, settings kept in the project.

    OpenCV's and FFmpeg's own log lines are silenced so that a bad file yields our one-line message only.
    """
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_VERBOSE", "False")
    os.environ.setdefault("YOLO_CONFIG_DIR", str(REPO_ROOT / ".cache" / "ultralytics"))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")


def import_torch():
    """torch and torchvision, in the order that keeps a later TensorFlow import safe."""
    configure_environment()
    import torch  # noqa: F401
    import torchvision  # noqa: F401
    return torch


def import_tensorflow():
    """TensorFlow, imported only after torch and torchvision (see module docstring)."""
    import_torch()
    import tensorflow as tf
    return tf


def import_keras():
    """Keras on the backend `KERAS_BACKEND` names: TensorFlow's (the default, imported in the safe order
    above), or torch's on a machine without TensorFlow (a lent GPU machine, `classification.train_gpu`)."""
    configure_environment()
    if os.environ["KERAS_BACKEND"] == "tensorflow":
        return import_tensorflow().keras
    if os.environ["KERAS_BACKEND"] == "torch":
        import_torch()
    import keras
    return keras


def import_ultralytics():
    """The ultralytics package, offline, after torch."""
    import_torch()
    import ultralytics
    from ultralytics.utils import SETTINGS
    if SETTINGS.get("sync", False):
        SETTINGS.update({"sync": False})
    return ultralytics
