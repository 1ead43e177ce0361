"""The real window, offscreen: plays the fixture clip, moves the slider, survives bad input, closes cleanly."""
import time

import cv2
import pytest

pytest.importorskip("PyQt6")
from PyQt6.QtWidgets import QPushButton  # noqa: E402

from pipeline.analyzer import FaceAnalyzer  # noqa: E402
from core.config import AppConfig  # noqa: E402
from core.errors import WeightsError  # noqa: E402
from tests.conftest import FIXTURES, FakeClassifier, FakeDetector, write_truncated_video  # noqa: E402

CLIP = str(FIXTURES / "two_faces.mp4")


def fake_factory(config):
    return FaceAnalyzer(config, detector=FakeDetector([[(60, 80, 120, 150), (200, 80, 260, 150)]]),
                        classifier=FakeClassifier())


@pytest.fixture
def make_window(open_window):
    def make(source=CLIP, factory=fake_factory):
        return open_window(source, factory)
    return make


def record_while_looping(window, qtbot):
    """Loop the clip, wait for its first frame, start recording and let half a second be recorded."""
    window.act_loop.setChecked(True)
    window.toggle_loop()
    qtbot.waitUntil(lambda: window.frames_shown >= 1, timeout=20000)
    window.toggle_record()
    qtbot.waitUntil(lambda: window.recording, timeout=5000)
    qtbot.wait(500)


def the_one_recording(folder):
    """The only .mp4 in `folder`, opened; asserts it is there alone, opens, and holds at least two frames."""
    files = list(folder.glob("*.mp4"))
    assert len(files) == 1
    cap = cv2.VideoCapture(str(files[0]))
    assert cap.isOpened() and int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) >= 2
    return cap


def test_window_plays_clip_moves_slider_and_closes(make_window, qtbot, settings):
    window = make_window()
    qtbot.waitUntil(lambda: window.frames_shown >= 5, timeout=20000)
    assert window.view.image is not None and window.view.image.width() == 320
    qtbot.waitUntil(lambda: window.last_stats is not None and window.last_stats.faces == 2, timeout=5000)
    assert "FPS" in window.status_label.text()

    window.crop_slider.setValue(window.crop_slider.maximum())
    assert window.config.crop_scale == 2.0
    assert float(settings.value("crop_scale")) == 2.0
    qtbot.waitUntil(lambda: window.worker.analyzer.config.crop_scale == 2.0, timeout=5000)

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
    assert 15 * 0.5 <= rate <= 15 * 1.25  # the fixture is 15 fps: never faster, and not frozen either


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
    assert window.stack.currentWidget() is window.panel and window.frames_shown == 0
    assert window.current_source is None and not window.act_record.isEnabled()  # nothing to record from


def test_a_truncated_video_says_it_ended_early(make_window, qtbot, tmp_path):
    _, cut = write_truncated_video(tmp_path)
    window = make_window(source=str(cut))
    qtbot.waitUntil(lambda: "Playback ended" in window.statusBar().currentMessage(), timeout=30000)
    assert "cut.avi ended after" in window.statusBar().currentMessage()
    assert "of the 100 frames its header announces" in window.statusBar().currentMessage()


def test_a_photo_saved_as_a_video_shows_its_faces(make_window, qtbot, tmp_path):
    """A one-frame 'video' used to show the picture with no box: a face needs 3 detections in a row."""
    fake = tmp_path / "photo.mp4"
    fake.write_bytes((FIXTURES / "two_faces.jpg").read_bytes())
    window = make_window(source=str(fake))
    qtbot.waitUntil(lambda: window.last_stats is not None and window.last_stats.faces == 2, timeout=20000)


def test_missing_weights_still_play_video_and_say_how_to_train(make_window, qtbot):
    def no_weights(config):
        raise WeightsError("No face-detector weights at x: train one with `python -m detection.train`.")

    window = make_window(factory=no_weights)
    qtbot.waitUntil(lambda: window.frames_shown >= 2, timeout=20000)
    assert "python -m detection.train" in window.models_message
    # the explanation stays on screen while the video plays (it used to vanish with the first frame)
    assert window.stack.currentWidget() is window.view
    assert window.models_banner.isVisible() and "python -m detection.train" in window.models_banner.text()


def test_try_camera_again_retries_the_camera_asked_for(make_window, qtbot):
    window = make_window(source="57")
    qtbot.waitUntil(lambda: "No camera" in window.panel.text.text(), timeout=20000)
    asked = []
    window.requestOpen.connect(asked.append)
    button = next(b for b in window.panel.findChildren(QPushButton) if b.text() == "Try camera again")
    button.click()
    assert asked == ["57"]  # not camera 0


def test_recording_is_closed_cleanly_on_quit(make_window, qtbot, settings, tmp_path):
    settings.setValue("record_dir", str(tmp_path))
    window = make_window()
    record_while_looping(window, qtbot)
    window.close()
    the_one_recording(tmp_path)


def test_snapshot_saves_the_annotated_frame(make_window, qtbot, settings, tmp_path):
    settings.setValue("snapshot_dir", str(tmp_path))
    window = make_window()
    qtbot.waitUntil(lambda: window.frames_shown >= 1, timeout=20000)
    for _ in range(3):  # names carry the second: three within one second must still be three files
        window.snapshot()
    assert len(list(tmp_path.glob("*.png"))) == 3


def test_settings_persist_between_windows(make_window, qtbot, settings):
    window = make_window()
    window.conf_slider.setValue(60)
    window.crop_slider.setValue(int(1.75 * 20))
    window.close()
    again = make_window()
    assert again.config.detection_confidence == pytest.approx(0.60)
    assert again.config.crop_scale == pytest.approx(1.75)


def test_command_line_settings_last_one_run_unless_changed_in_the_window(qtbot, settings):
    """`--crop-scale` / `--no-smoothing` once used to become the saved settings for every later launch."""
    from gui.main_window import MainWindow
    settings.setValue("crop_scale", 1.6)
    given = AppConfig().changed(crop_scale=1.8, smoothing=False, detection_confidence=0.5)
    window = MainWindow(given, settings, initial_source=CLIP, analyzer_factory=fake_factory,
                        overridden={"crop_scale", "smoothing", "detection_confidence"})
    qtbot.addWidget(window)
    assert window.config.crop_scale == pytest.approx(1.8) and not window.config.smoothing
    window.conf_slider.setValue(60)                    # changed in the window: this one is the user's choice
    window.close()
    assert float(settings.value("crop_scale")) == pytest.approx(1.6)
    assert not settings.contains("smoothing")
    assert float(settings.value("detection_confidence")) == pytest.approx(0.60)


def test_steady_labels_can_be_switched_off_and_on_from_the_menu(make_window, qtbot, settings):
    window = make_window()
    assert window.act_steady.isChecked() and window.config.smoothing
    window.act_steady.trigger()
    assert not window.config.smoothing and settings.value("smoothing") in (False, "false")
    qtbot.waitUntil(lambda: window.worker.analyzer is not None and not window.worker.analyzer.config.smoothing,
                    timeout=20000)
    window.act_steady.trigger()
    assert window.config.smoothing and not settings.contains("smoothing")  # back at the default


def test_the_demo_loops_without_changing_the_saved_loop_choice(make_window, qtbot, settings):
    from gui.settings import KEY_LOOP
    window = make_window()
    window.play_demo()
    assert window.act_loop.isChecked() and not window.prefs.flag(KEY_LOOP)
    window.open_source(CLIP)                           # the user's own video: the saved choice again
    assert not window.act_loop.isChecked()


def test_opening_a_source_clears_an_old_playback_ended_message(make_window, qtbot):
    window = make_window()
    qtbot.waitUntil(lambda: window.frames_shown >= 1, timeout=20000)
    window.on_source_ended()
    assert "Playback ended" in window.statusBar().currentMessage() and window.status_label.text() == ""
    window.open_source(CLIP)
    qtbot.waitUntil(lambda: window.statusBar().currentMessage() == "", timeout=20000)
    window.on_source_failed("That file cannot be opened.")
    assert window.windowTitle() == "Face age & gender"


def test_a_recording_that_cannot_start_says_so(make_window, qtbot, settings, tmp_path):
    """An unwritable recordings folder used to say "Recording stopped" for a recording that never started."""
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    settings.setValue("record_dir", str(blocker / "Videos"))
    window = make_window()
    qtbot.waitUntil(lambda: window.frames_shown >= 1, timeout=20000)
    window.toggle_record()
    qtbot.waitUntil(lambda: window.statusBar().currentMessage().startswith("Could not start recording: "),
                    timeout=5000)
    assert not window.recording and not window.act_record.isChecked()


def test_quit_has_ctrl_q_spelled_out(make_window):
    from PyQt6.QtGui import QKeySequence
    window = make_window()
    assert QKeySequence("Ctrl+Q") in window.act_quit.shortcuts()


def test_opencv_qt_plugin_path_is_dropped_before_the_window(monkeypatch):
    import os

    from gui.app import free_qt_from_opencv
    monkeypatch.setenv("QT_QPA_PLATFORM_PLUGIN_PATH", os.path.join(os.path.dirname(cv2.__file__), "qt", "plugins"))
    free_qt_from_opencv()
    assert "QT_QPA_PLATFORM_PLUGIN_PATH" not in os.environ
    monkeypatch.setenv("QT_QPA_PLATFORM_PLUGIN_PATH", "/usr/lib/qt6/plugins")  # a user's own choice stays
    free_qt_from_opencv()
    assert os.environ["QT_QPA_PLATFORM_PLUGIN_PATH"] == "/usr/lib/qt6/plugins"


def test_ctrl_c_closes_the_window_saving_the_recording_and_settings(make_window, qtbot, settings, tmp_path):
    """Ctrl-C used to print a KeyboardInterrupt traceback and abort, losing both."""
    import os
    import signal

    from gui.app import quit_on_signals
    settings.setValue("record_dir", str(tmp_path))
    window = make_window()
    window.crop_slider.setValue(int(1.85 * 20))
    settings.remove("crop_scale")  # must be written again on the way out
    record_while_looping(window, qtbot)
    started_with = signal.signal(signal.SIGINT, signal.default_int_handler)  # as from a terminal: a background
    previous = quit_on_signals(window)                                       # test run starts with it ignored
    previous[signal.SIGINT] = started_with
    try:
        os.kill(os.getpid(), signal.SIGINT)
        qtbot.waitUntil(lambda: not window.isVisible(), timeout=5000)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    assert not window.thread.isRunning()
    assert the_one_recording(tmp_path).read()[0]
    assert float(settings.value("crop_scale")) == pytest.approx(1.85) and settings.contains("geometry")


def test_sigint_to_the_app_exits_cleanly_without_a_traceback(tmp_path):
    import os
    import signal
    import subprocess
    import sys

    from tests.conftest import ROOT, signals_as_from_a_terminal
    env = dict(os.environ, HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "config"), QT_QPA_PLATFORM="offscreen")
    log = tmp_path / "stderr.txt"
    with open(log, "w") as err:
        proc = subprocess.Popen([sys.executable, "main.py", "--source", CLIP, "--detector", tmp_path / "none.onnx"],
                                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err,
                                preexec_fn=signals_as_from_a_terminal)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None and "first frame drawn" not in log.read_text():
            time.sleep(0.2)
        assert proc.poll() is None, log.read_text()[-2000:]
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    text = log.read_text()
    assert proc.returncode == 0 and "Traceback" not in text and "KeyboardInterrupt" not in text, text[-2000:]
    assert list((tmp_path / "config").rglob("*.conf"))  # the settings were written on the way out


def test_a_failing_frame_stops_playback_with_a_message_and_keeps_the_recording(make_window, qtbot, settings, tmp_path):
    """An exception escaping the worker's slot used to abort the whole app, recording lost."""

    class Breaks:
        def __init__(self, config):
            self.inner, self.frames = fake_factory(config), 0

        def track(self, frame):
            self.frames += 1
            if self.frames > 12:
                raise RuntimeError("model exploded")
            return self.inner.track(frame)

        def __getattr__(self, name):
            return getattr(self.inner, name)

    settings.setValue("record_dir", str(tmp_path))
    window = make_window(factory=Breaks)
    qtbot.waitUntil(lambda: window.frames_shown >= 1, timeout=20000)
    window.toggle_record()
    qtbot.waitUntil(lambda: "unexpected error" in window.panel.text.text(), timeout=20000)
    assert "model exploded" in window.panel.text.text() and window.thread.isRunning()
    cap = cv2.VideoCapture(str(next(tmp_path.glob("*.mp4"))))
    assert cap.isOpened() and cap.read()[0]


def test_damaged_settings_values_are_ignored(settings):
    from gui.settings import load_into
    settings.setValue("crop_scale", "nan")
    settings.setValue("detection_confidence", "inf")
    config = load_into(settings, AppConfig())
    assert config.crop_scale == AppConfig().crop_scale and config.detection_confidence == AppConfig().detection_confidence
    # outside the slider's range: it loaded clamped (7 -> 0.99) with the handle stuck at 95% beside a '99%' label
    settings.setValue("detection_confidence", "7")
    settings.setValue("crop_scale", "-1")
    config = load_into(settings, AppConfig())
    assert config.crop_scale == AppConfig().crop_scale and config.detection_confidence == AppConfig().detection_confidence


def test_a_default_is_not_stored_so_a_new_default_reaches_everyone(settings):
    from gui.settings import KEY_SETTINGS_VERSION, load_into, save_from
    save_from(settings, AppConfig())
    assert not settings.contains("crop_scale") and settings.contains(KEY_SETTINGS_VERSION)
    save_from(settings, AppConfig().changed(crop_scale=1.2))   # a user's choice, even an old default
    assert load_into(settings, AppConfig()).crop_scale == pytest.approx(1.2)
    save_from(settings, AppConfig())                            # back at the default: follows the default
    assert not settings.contains("crop_scale")


def test_an_old_store_written_for_everyone_gives_the_new_default(settings):
    from gui.settings import VERSION_1_DEFAULTS, load_into
    settings.setValue("crop_scale", VERSION_1_DEFAULTS["crop_scale"])   # what version 1 wrote on every exit
    assert load_into(settings, AppConfig()).crop_scale == AppConfig().crop_scale != VERSION_1_DEFAULTS["crop_scale"]
    settings.setValue("crop_scale", 1.75)                                # moved by hand: kept
    assert load_into(settings, AppConfig()).crop_scale == pytest.approx(1.75)
