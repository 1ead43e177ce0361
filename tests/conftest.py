"""Shared fixtures. Tests run offscreen, offline, and without ../shared (data tests skip cleanly)."""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import runtime  # noqa: E402

from core.paths import DATASETS_DIR as DATASETS  # noqa: E402
from core.paths import DEFAULT_CLASSIFIER_WEIGHTS as SHIPPED_CLASSIFIER  # noqa: E402
from core.paths import DEFAULT_DETECTOR_WEIGHTS as SHIPPED_DETECTOR  # noqa: E402

runtime.configure_environment()

FIXTURES = ROOT / "tests" / "fixtures"


@pytest.fixture
def settings(tmp_path):
    """The window's QSettings in a file of the test's own, never the user's."""
    from PyQt6.QtCore import QSettings
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def open_window(qtbot, settings):
    """`open_window(source, factory)`: the real window (offscreen) on `source` with the analyzer `factory`
    makes; every window opened is shut down after the test."""
    from core.config import AppConfig
    from gui.main_window import MainWindow
    windows = []

    def make(source: str, factory):
        window = MainWindow(AppConfig(), settings, initial_source=source, analyzer_factory=factory)
        qtbot.addWidget(window)
        window.show()
        windows.append(window)
        return window

    yield make
    for w in windows:
        w.shutdown()


def write_truncated_video(folder: Path, frames: int = 100) -> tuple[Path, Path]:
    """An MJPG .avi of `frames` noise frames, and a copy cut to half its bytes whose header still announces
    them all (a truncated download)."""
    import cv2
    whole, cut = folder / "whole.avi", folder / "cut.avi"
    writer = cv2.VideoWriter(str(whole), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (160, 120))
    rng = np.random.default_rng(0)
    for _ in range(frames):
        writer.write(rng.integers(0, 255, (120, 160, 3), np.uint8))
    writer.release()
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    return whole, cut


def write_clip(path: Path, frames: int, size: tuple[int, int] = (64, 48), grey: int | None = None) -> Path:
    """An mp4v clip of `frames` flat frames at grey level `grey`, or, by default, frame i at 40*i (so their
    order can be checked; the first is black, which the app marks too dark to label)."""
    import cv2
    width, height = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (width, height))
    for i in range(frames):
        writer.write(np.full((height, width, 3), 40 * i if grey is None else grey, np.uint8))
    writer.release()
    return path


def signals_as_from_a_terminal() -> None:
    """`preexec_fn` for an app started as from a terminal, whatever started the test run: a background job
    (CI, `nohup`) starts with SIGINT or SIGHUP ignored, and the app rightly keeps an ignored signal ignored
    (core.cli.catch_exit_signals), so a test that sends one must start its child with them at default."""
    import signal
    for name in ("SIGINT", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)


def needs_shipped_weights():
    missing = [p.name for p in (SHIPPED_DETECTOR, SHIPPED_CLASSIFIER) if not p.is_file()]
    return pytest.mark.skipif(bool(missing), reason=f"shipped weights missing: {missing}")


def needs_datasets():
    return pytest.mark.skipif(not DATASETS.is_dir(), reason="../shared/datasets is not present")


@pytest.fixture(scope="session")
def tiny_detector_weights(tmp_path_factory) -> Path:
    """A randomly initialised YOLOv8n saved as .pt: exercises loading and inference, detects nothing useful."""
    runtime.import_ultralytics()
    from ultralytics import YOLO
    path = tmp_path_factory.mktemp("det") / "tiny.pt"
    YOLO("yolov8n.yaml").save(str(path))
    return path


@pytest.fixture(scope="session")
def tiny_onnx_detector_weights(tiny_detector_weights, tmp_path_factory) -> Path:
    """The random YOLOv8n exported to ONNX at 320 with dynamic height/width, as `detection.export` ships it."""
    from detection.export import export_onnx
    pt = tmp_path_factory.mktemp("det_dynamic") / "tiny.pt"
    shutil.copyfile(tiny_detector_weights, pt)
    return export_onnx(pt, 320)


@pytest.fixture(scope="session")
def tiny_static_onnx_detector_weights(tiny_detector_weights) -> Path:
    """The random YOLOv8n exported to a fixed 320x320 ONNX input (older exports; still loadable)."""
    runtime.import_ultralytics()
    from ultralytics import YOLO
    return Path(YOLO(str(tiny_detector_weights)).export(format="onnx", imgsz=320, simplify=False, dynamic=False))


@pytest.fixture(scope="session")
def tiny_classifier_weights(tmp_path_factory) -> Path:
    """A tiny Keras net with the classifier's inputs/outputs, converted to TFLite like the shipped one."""
    from classification.export import to_tflite
    tf = runtime.import_tensorflow()
    keras = tf.keras
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(4, 3, strides=2, activation="relu")(keras.layers.Rescaling(1 / 255)(inputs))
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, {"gender": keras.layers.Dense(2, activation="softmax", name="gender")(x),
                                 "age": keras.layers.Dense(8, activation="softmax", name="age")(x)})
    path = tmp_path_factory.mktemp("cls") / "tiny.tflite"
    to_tflite(model, path, "none")
    return path


class FakeDetector:
    """Returns fixed boxes: lets pipeline tests control exactly where the faces are."""

    def __init__(self, boxes_per_call):
        self.boxes_per_call = list(boxes_per_call)
        self.calls = 0
        self.confidence = 0.35

    def detect(self, frame):
        from core.face import Face
        boxes = self.boxes_per_call[min(self.calls, len(self.boxes_per_call) - 1)]
        self.calls += 1
        return [Face(box=tuple(map(float, b)), score=0.9) for b in boxes]


class FakeClassifier:
    """Cycles through scripted (gender, female_prob, age_probs) answers and counts the crops it saw."""

    input_size_px = 32

    def __init__(self, answers=None):
        self.answers = answers or [("female", 0.9, np.eye(8)[4])]
        self.seen = 0
        self.crop_shapes = []

    def predict(self, crops):
        from core.protocols import AgeGender
        out = []
        for crop in crops:
            gender, prob, age = self.answers[self.seen % len(self.answers)]
            self.crop_shapes.append(crop.shape)
            self.seen += 1
            out.append(AgeGender(gender, prob, np.asarray(age, np.float32)))
        return out
