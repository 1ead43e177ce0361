"""The real window, offscreen: plays the fixture clip, moves the slider, survives bad input, closes cleanly."""
import time

import numpy as np
import pytest

pytest.importorskip("PyQt6")
from PyQt6.QtCore import QSettings  # noqa: E402

from pipeline.analyzer import FaceAnalyzer  # noqa: E402
from pipeline.config import AppConfig  # noqa: E402
from pipeline.errors import WeightsError  # noqa: E402
from tests.conftest import FIXTURES, FakeClassifier, FakeDetector  # noqa: E402

CLIP = str(FIXTURES / "two_faces.mp4")


def fake_factory(config):
    return FaceAnalyzer(config, detector=FakeDetector([[(60, 80, 120, 150), (200, 80, 260, 150)]]),
                        classifier=FakeClassifier())


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def make_window(qtbot, settings):
    from gui.main_window import MainWindow
    windows = []

    def make(source=CLIP, factory=fake_factory):
        window = MainWindow(AppConfig(), settings, initial_source=source, analyzer_factory=factory)
        qtbot.addWidget(window)
        window.show()
        windows.append(window)
        return window

    yield make
    for w in windows:
        w.shutdown()


def test_window_plays_clip_moves_slider_and_closes(make_window, qtbot, settings):
    window = make_window()
    qtbot.waitUntil(lambda: window.frames_shown >= 5, timeout=20000)
    assert window.view.image is not None and window.view.image.width() == 320
    qtbot.waitUntil(lambda: window.last_stats.get("faces") == 2, timeout=5000)
    assert "FPS" in window.status_label.text()

    window.crop_slider.setValue(window.crop_slider.maximum())
    assert window.config.crop_scale == 2.0
    assert float(settings.value("crop_scale")) == 2.0
    qtbot.waitUntil(lambda: window.worker.config.crop_scale == 2.0, timeout=5000)

    shown = window.frames_shown
    window.toggle_pause()
    qtbot.wait(300)
    paused_at = window.frames_shown
    qtbot.wait(400)
    assert window.frames_shown == paused_at >= shown
    window.toggle_pause()
    qtbot.waitUntil(lambda: window.frames_shown > paused_at, timeout=5000)

    started = time.perf_counter()
    window.close()
    assert time.perf_counter() - started < 2.0
    assert not window.thread.isRunning()


def test_clip_plays_at_its_own_frame_rate(make_window, qtbot):
    window = make_window()
    qtbot.waitUntil(lambda: window.frames_shown >= 1, timeout=20000)
    start, first = time.perf_counter(), window.frames_shown
    qtbot.wait(1000)
    rate = (window.frames_shown - first) / (time.perf_counter() - start)
    assert rate <= 15 * 1.25  # the fixture is 15 fps: never faster


def test_missing_camera_shows_a_message_not_a_crash(make_window, qtbot):
    window = make_window(source="57")
    qtbot.waitUntil(lambda: "No camera" in window.panel.text.text(), timeout=20000)
    assert window.stack.currentWidget() is window.panel
    window.open_source(CLIP)  # the offered way forward works
    qtbot.waitUntil(lambda: window.frames_shown >= 1, timeout=20000)


def test_bad_video_shows_a_message(make_window, qtbot, tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00" * 1000)
    window = make_window(source=str(bad))
    qtbot.waitUntil(lambda: "cannot be opened" in window.panel.text.text() or "no decodable" in window.panel.text.text(),
                    timeout=20000)


def test_missing_weights_still_play_video_and_say_how_to_train(make_window, qtbot):
    def no_weights(config):
        raise WeightsError("No face-detector weights at x: train one with `python -m detection.train`.")

    window = make_window(factory=no_weights)
    qtbot.waitUntil(lambda: window.frames_shown >= 2, timeout=20000)
    assert "python -m detection.train" in window.models_message


def test_recording_is_closed_cleanly_on_quit(make_window, qtbot, settings, tmp_path):
    settings.setValue("record_dir", str(tmp_path))
    window = make_window()
    window.act_loop.setChecked(True)
    window.toggle_loop()
    qtbot.waitUntil(lambda: window.frames_shown >= 1, timeout=20000)
    window.toggle_record()
    qtbot.waitUntil(lambda: window.recording, timeout=5000)
    qtbot.wait(500)
    window.close()
    files = list(tmp_path.glob("*.mp4"))
    assert len(files) == 1
    import cv2
    cap = cv2.VideoCapture(str(files[0]))
    assert cap.isOpened() and int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) >= 2


def test_snapshot_saves_the_annotated_frame(make_window, qtbot, settings, tmp_path):
    settings.setValue("snapshot_dir", str(tmp_path))
    window = make_window()
    qtbot.waitUntil(lambda: window.frames_shown >= 1, timeout=20000)
    window.snapshot()
    assert len(list(tmp_path.glob("*.png"))) == 1


def test_settings_persist_between_windows(make_window, qtbot, settings):
    window = make_window()
    window.conf_slider.setValue(60)
    window.crop_slider.setValue(int(1.75 * 20))
    window.close()
    again = make_window()
    assert again.config.detection_confidence == pytest.approx(0.60)
    assert again.config.crop_scale == pytest.approx(1.75)


def test_opencv_qt_plugin_path_is_dropped_before_the_window(monkeypatch):
    import os

    import cv2

    from gui.app import free_qt_from_opencv
    monkeypatch.setenv("QT_QPA_PLATFORM_PLUGIN_PATH", os.path.join(os.path.dirname(cv2.__file__), "qt", "plugins"))
    free_qt_from_opencv()
    assert "QT_QPA_PLATFORM_PLUGIN_PATH" not in os.environ
    monkeypatch.setenv("QT_QPA_PLATFORM_PLUGIN_PATH", "/usr/lib/qt6/plugins")  # a user's own choice stays
    free_qt_from_opencv()
    assert os.environ["QT_QPA_PLATFORM_PLUGIN_PATH"] == "/usr/lib/qt6/plugins"
