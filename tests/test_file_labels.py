"""Files are not live: the GUI worker lifts the classification budget for a file; real-model tags read honestly."""
import re

import cv2
import numpy as np
import pytest

from core.config import AppConfig
from core.face import TOO_DARK, TOO_SMALL
from pipeline.analyzer import FaceAnalyzer
from tests.conftest import FIXTURES, FakeClassifier, FakeDetector, needs_shipped_weights

TAG = re.compile(r"^([FM] \d+%|\?) \| (\d+-\d+ \d+%|\?)$")


def test_gui_worker_plays_files_without_the_live_budget():
    pytest.importorskip("PyQt6")
    from gui.worker import AnalysisWorker
    worker = AnalysisWorker(AppConfig(), analyzer_factory=lambda cfg: FaceAnalyzer(
        cfg, detector=FakeDetector([[(60, 80, 120, 150)]]), classifier=FakeClassifier()))
    worker._load_models()
    assert worker.analyzer.config.realtime  # the default, for cameras
    worker.open_source(str(FIXTURES / "two_faces.mp4"))
    assert worker.source is not None and not worker.analyzer.config.realtime
    worker._close_source()


@needs_shipped_weights()
def test_real_models_label_judge_and_mark_faces():
    image = cv2.imread(str(FIXTURES / "two_faces.jpg"))
    analyzer = FaceAnalyzer()
    faces = analyzer.analyze(image)
    assert len(faces) == 2 and all(TAG.match(f.label()) for f in faces), [f.label() for f in faces]
    dark = analyzer.analyze((image * 0.15).astype(np.uint8))  # a dim room: same faces, mean grey ~15-20
    assert dark and all(f.unjudgeable == TOO_DARK and not f.is_classified for f in dark)
    tiny = cv2.resize(image, None, fx=0.22, fy=0.22, interpolation=cv2.INTER_AREA)  # faces ~15 px
    canvas = np.full((240, 320, 3), 128, np.uint8)
    canvas[:tiny.shape[0], :tiny.shape[1]] = tiny
    small = analyzer.analyze(canvas)
    assert len(small) == 2 and all(f.unjudgeable == TOO_SMALL and f.label() == "too small" for f in small)
