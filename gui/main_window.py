"""The main window: video view, controls, menus and status bar. It never touches a model."""
from __future__ import annotations

import sys
import time
from pathlib import Path

from PyQt6.QtCore import QSettings, Qt, QThread, pyqtSignal
from PyQt6.QtGui import QAction, QImage, QKeySequence, QPixmap
from PyQt6.QtWidgets import (QFileDialog, QHBoxLayout, QLabel, QMainWindow, QMessageBox,
                             QPushButton, QSizePolicy, QSlider, QStackedWidget, QToolBar, QVBoxLayout, QWidget)

from core.config import AppConfig, slider_range
from core.images import IMAGE_SUFFIXES, VIDEO_SUFFIXES
from core.paths import DEMO_CLIP
from gui.people_ui import PeopleFeatures
from gui.settings import KEY_LAST_DIR, KEY_LOOP, KEY_RECORD_DIR, KEY_SNAPSHOT_DIR, Preferences
from gui.status import STATUS_DONE_MS, STATUS_HINT_MS, STATUS_PROBLEM_MS
from gui.worker import AnalysisWorker, FrameStats
from pipeline.outputs import unique_path

VIDEO_FILTER = (f"Videos ({' '.join('*' + s for s in VIDEO_SUFFIXES)});;"
                f"Images ({' '.join('*' + s for s in sorted(IMAGE_SUFFIXES))});;All files (*)")
CROP_SLIDER_STEPS_PER_UNIT = 20   # face-extraction slider resolution: 0.05x
CONF_SLIDER_STEPS_PER_UNIT = 100  # confidence slider resolution: 1%
CAMERA_INDICES = (0, 1, 2, 3)


def process_age_s() -> float:
    """Seconds since this process started (interpreter start included), for the startup figure."""
    import psutil
    return time.time() - psutil.Process().create_time()


class VideoView(QLabel):
    """Shows the newest frame scaled to fit, keeping its aspect ratio."""

    def __init__(self):
        super().__init__()
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(320, 240)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setStyleSheet("background: #111;")
        self.image: QImage | None = None

    def show_image(self, image: QImage) -> None:
        self.image = image
        self._redraw()

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self._redraw()

    def _redraw(self):
        if self.image is not None:
            self.setPixmap(QPixmap.fromImage(self.image).scaled(
                self.size(), Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation))


class MessagePanel(QWidget):
    """What the window shows instead of video: loading, no camera, a bad file; with ways forward."""

    def __init__(self, on_open, on_demo, on_camera):
        super().__init__()
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.text.setStyleSheet("font-size: 15px;")
        layout.addWidget(self.text)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for label, slot in (("Open video…", on_open), ("Play demo clip", on_demo), ("Try camera again", on_camera)):
            button = QPushButton(label)
            button.clicked.connect(slot)
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        layout.addStretch(1)


class MainWindow(QMainWindow):
    # commands to the worker (queued across threads)
    requestOpen = pyqtSignal(str)
    requestStopSource = pyqtSignal()
    requestPause = pyqtSignal(bool)
    requestLoop = pyqtSignal(bool)
    requestSettings = pyqtSignal(dict)       # {AppConfig field: new value}
    requestRecord = pyqtSignal(str)
    requestStopRecord = pyqtSignal()
    requestQuit = pyqtSignal()

    def __init__(self, config: AppConfig, settings: QSettings, initial_source: str | None = None,
                 analyzer_factory=None, overridden: set[str] = frozenset(), exit_after_frames: int = 0):
        super().__init__()
        self.prefs = Preferences(settings)
        self.config = self.prefs.load_config(config, overridden)  # the window's config; the worker gets changes
        # settings the command line gave for this run only: not saved, unless changed in the window
        self.run_only_settings = set(overridden)
        self.initial_source = initial_source
        self.current_source: str | None = None
        self.camera_index: int | None = None  # the camera last asked for, opened or not
        self.paused = False
        self.recording = False
        self.models_message = ""
        self.last_stats: FrameStats | None = None
        self.frames_shown = 0
        self.first_frame_time: float | None = None
        self.exit_after_frames = exit_after_frames  # >0: quit after that many frames (startup benchmark)
        self.setWindowTitle("Face age & gender")
        self.setAcceptDrops(True)
        self._build_ui()
        self._start_worker(analyzer_factory)
        self.people_ui = PeopleFeatures(self, self.prefs, self.worker)  # people panel, session summary, blur
        geometry = self.prefs.geometry()
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1000, 720)

    # ---------- construction ----------
    def _build_ui(self):
        self.view = VideoView()
        self.panel = MessagePanel(self.open_video_dialog, self.play_demo, self.retry_camera)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.panel)
        self.stack.addWidget(self.view)
        # why the faces are not labelled (e.g. missing weights): stays above the video while it plays
        self.models_banner = QLabel()
        self.models_banner.setWordWrap(True)
        self.models_banner.setStyleSheet("background: #5a4500; color: white; padding: 6px;")
        self.models_banner.hide()
        central = QWidget()
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.models_banner)
        column.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self.show_message("Loading the face detector and the age/gender classifier…")

        self.status_label = QLabel("")
        self.statusBar().addPermanentWidget(self.status_label)

        bar = QToolBar("Controls")
        bar.setObjectName("controls")
        self.addToolBar(bar)
        self.act_open = self._action("&Open video…", "Open a video file (O)", self.open_video_dialog,
                                     [QKeySequence("O"), QKeySequence.StandardKey.Open])
        self.act_demo = self._action("Play &demo clip", "Play the bundled demo clip (D)", self.play_demo, [QKeySequence("D")])
        self.act_pause = self._action("&Pause", "Pause or resume (Space)", self.toggle_pause, [QKeySequence("Space")])
        self.act_pause.setCheckable(True)
        self.act_stop = self._action("S&top", "Stop playback (Esc)", self.stop_source, [QKeySequence("Esc")])
        self.act_loop = self._action("&Loop", "Loop video files (L)", self.toggle_loop, [QKeySequence("L")])
        self.act_loop.setCheckable(True)
        self.act_loop.setChecked(self.prefs.flag(KEY_LOOP))
        self.act_snapshot = self._action("&Snapshot", "Save the annotated frame (S)", self.snapshot, [QKeySequence("S")])
        self.act_record = self._action("&Record", "Record the annotated video (R)", self.toggle_record, [QKeySequence("R")])
        self.act_record.setCheckable(True)
        # Ctrl+Q spelled out: StandardKey.Quit is empty on some platforms (offscreen, some desktops)
        self.act_quit = self._action("&Quit", "Quit (Q, Ctrl+Q)", self.close, [QKeySequence("Q"), QKeySequence("Ctrl+Q")])
        self.act_steady = self._action("Steady &labels", "Smooth each person's labels over time so they do not "
                                       "flicker (off: every classification shown as it comes)", self.toggle_steady)
        self.act_steady.setCheckable(True)
        self.act_steady.setChecked(self.config.smoothing)
        for act in (self.act_open, self.act_pause, self.act_stop, self.act_loop, self.act_snapshot, self.act_record):
            bar.addAction(act)
        bar.addSeparator()

        bar.addWidget(QLabel(" Face extraction "))
        self.crop_slider = QSlider(Qt.Orientation.Horizontal)
        low, high = slider_range("crop_scale")
        self.crop_slider.setRange(int(round(low * CROP_SLIDER_STEPS_PER_UNIT)), int(round(high * CROP_SLIDER_STEPS_PER_UNIT)))
        self.crop_slider.setValue(int(round(self.config.crop_scale * CROP_SLIDER_STEPS_PER_UNIT)))
        self.crop_slider.setFixedWidth(140)
        self.crop_slider.setToolTip("How much of the head around each detected box goes to the classifier")
        self.crop_value = QLabel()
        self.crop_slider.valueChanged.connect(self.on_crop_slider)
        bar.addWidget(self.crop_slider)
        bar.addWidget(self.crop_value)
        bar.addSeparator()
        bar.addWidget(QLabel(" Confidence "))
        self.conf_slider = QSlider(Qt.Orientation.Horizontal)
        low, high = slider_range("detection_confidence")
        self.conf_slider.setRange(int(round(low * CONF_SLIDER_STEPS_PER_UNIT)), int(round(high * CONF_SLIDER_STEPS_PER_UNIT)))
        self.conf_slider.setValue(int(round(self.config.detection_confidence * CONF_SLIDER_STEPS_PER_UNIT)))
        self.conf_slider.setFixedWidth(110)
        self.conf_slider.setToolTip("Minimum detector confidence for a face to be shown")
        self.conf_value = QLabel()
        self.conf_slider.valueChanged.connect(self.on_conf_slider)
        bar.addWidget(self.conf_slider)
        bar.addWidget(self.conf_value)
        self._update_slider_labels()

        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        for act in (self.act_open, self.act_demo, None, self.act_snapshot, self.act_record, None, self.act_quit):
            file_menu.addSeparator() if act is None else file_menu.addAction(act)
        camera_menu = menu.addMenu("&Camera")
        for index in CAMERA_INDICES:
            camera_menu.addAction(self._action(f"Camera {index}", f"Open camera {index}",
                                               lambda _=False, i=index: self.open_source(str(i))))
        play_menu = menu.addMenu("&Playback")
        for act in (self.act_pause, self.act_stop, self.act_loop, None, self.act_steady):
            play_menu.addSeparator() if act is None else play_menu.addAction(act)
        help_menu = menu.addMenu("&Help")
        help_menu.addAction(self._action("&About", "About this app and its models", self.show_about))
        self._update_actions()

    def _action(self, text, tip, slot, shortcuts=None) -> QAction:
        act = QAction(text, self)
        act.setStatusTip(tip)
        act.setToolTip(tip)
        if shortcuts:
            act.setShortcuts(shortcuts)
        act.triggered.connect(slot)
        return act

    def _start_worker(self, analyzer_factory):
        self.thread = QThread(self)
        self.worker = AnalysisWorker(self.config, analyzer_factory)  # configs are replaced, never changed in place
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.run)
        # QThread.quit is thread-safe; a direct call lets the thread end while the window waits for it
        self.worker.finished.connect(self.thread.quit, Qt.ConnectionType.DirectConnection)
        self.worker.frameReady.connect(self.on_frame)
        self.worker.statsReady.connect(self.on_stats)
        self.worker.modelsReady.connect(self.on_models_ready)
        self.worker.modelsFailed.connect(self.on_models_failed)
        self.worker.sourceOpened.connect(self.on_source_opened)
        self.worker.sourceFailed.connect(self.on_source_failed)
        self.worker.sourceEnded.connect(self.on_source_ended)
        self.worker.recordingChanged.connect(self.on_recording_changed)
        self.worker.recordingFailed.connect(self.on_recording_failed)
        self.requestOpen.connect(self.worker.open_source)
        self.requestStopSource.connect(self.worker.stop_source)
        self.requestPause.connect(self.worker.set_paused)
        self.requestLoop.connect(self.worker.set_loop)
        self.requestSettings.connect(self.worker.configure)
        self.requestRecord.connect(self.worker.start_recording)
        self.requestStopRecord.connect(self.worker.stop_recording)
        self.requestQuit.connect(self.worker.stop)
        self.thread.start()  # the Loop choice goes with each source (open_source)

    # ---------- user actions ----------
    def open_source(self, spec: str, loop: bool | None = None):
        """Open a camera index or a file; `loop` for this source only (the demo), else the saved Loop choice."""
        self.current_source = spec
        if spec.strip().isdigit():
            self.camera_index = int(spec)
        loop = self.prefs.flag(KEY_LOOP) if loop is None else loop
        self.act_loop.setChecked(loop)
        self.requestLoop.emit(loop)
        self.requestOpen.emit(spec)

    def open_video_dialog(self):
        start_dir = str(self.prefs.folder(KEY_LAST_DIR))
        path, _ = QFileDialog.getOpenFileName(self, "Open video", start_dir, VIDEO_FILTER)
        if path:
            self.prefs.set_folder(KEY_LAST_DIR, Path(path).parent)
            self.open_source(path)

    def play_demo(self):
        if not DEMO_CLIP.is_file():
            self.show_message(f"The demo clip is missing ({DEMO_CLIP}). Open a video instead.")
            return
        self.open_source(str(DEMO_CLIP), loop=True)  # the demo loops without changing the saved choice

    def retry_camera(self):
        """Retry the camera last asked for (`--camera 7` retries 7), else the remembered one."""
        index = self.camera_index if self.camera_index is not None else self.prefs.camera()
        self.open_source(str(index))

    def toggle_pause(self):
        if self.current_source is None:
            return
        self.paused = not self.paused
        self.act_pause.setChecked(self.paused)
        self.act_pause.setText("Resume" if self.paused else "&Pause")
        self.requestPause.emit(self.paused)

    def stop_source(self):
        self.requestStopSource.emit()

    def toggle_loop(self):
        self.prefs.set_flag(KEY_LOOP, self.act_loop.isChecked())
        self.requestLoop.emit(self.act_loop.isChecked())

    def toggle_steady(self):
        self.change_settings(smoothing=self.act_steady.isChecked())

    def snapshot(self):
        if self.view.image is None:
            self.statusBar().showMessage("Nothing to save yet.", STATUS_HINT_MS)
            return
        folder = self.prefs.folder(KEY_SNAPSHOT_DIR)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self.statusBar().showMessage(f"Could not save a snapshot: cannot create {folder} ({exc.strerror}).", STATUS_PROBLEM_MS)
            return
        path = unique_path(folder / time.strftime("faces_%Y%m%d_%H%M%S.png"))  # several a second: _1, _2
        ok = self.view.image.save(str(path))
        self.statusBar().showMessage(f"Saved {path}" if ok else f"Could not save {path}: is {folder} writable?",
                                     STATUS_DONE_MS if ok else STATUS_PROBLEM_MS)

    def toggle_record(self):
        if self.recording:
            self.requestStopRecord.emit()
            return
        if self.current_source is None:
            self.act_record.setChecked(False)
            self.statusBar().showMessage("Open a camera or video first.", STATUS_HINT_MS)
            return
        folder = self.prefs.folder(KEY_RECORD_DIR)
        self.requestRecord.emit(str(unique_path(folder / time.strftime("faces_%Y%m%d_%H%M%S.mp4"))))

    def on_crop_slider(self, value: int):
        self.change_settings(crop_scale=value / CROP_SLIDER_STEPS_PER_UNIT)

    def on_conf_slider(self, value: int):
        self.change_settings(detection_confidence=value / CONF_SLIDER_STEPS_PER_UNIT)

    def change_settings(self, **values):
        """The user changed settings: take the new config, remember it, and send the change to the worker."""
        self.config = self.config.changed(**values)
        self.run_only_settings -= set(values)
        self._update_slider_labels()
        self.prefs.save_config(self.config, self.run_only_settings)
        self.requestSettings.emit({name: getattr(self.config, name) for name in values})

    def show_about(self):
        from gui.about import about_text
        QMessageBox.about(self, "About Face age & gender", about_text())

    # ---------- worker signals ----------
    def on_frame(self, image: QImage):
        if self.stack.currentWidget() is not self.view:
            self.stack.setCurrentWidget(self.view)
        self.view.show_image(image)
        self.frames_shown += 1
        if self.first_frame_time is None:
            self.first_frame_time = time.perf_counter()
            print(f"first frame drawn after {process_age_s():.2f} s", file=sys.stderr, flush=True)
        if self.exit_after_frames and self.frames_shown >= self.exit_after_frames:
            self.close()

    def on_stats(self, stats: FrameStats):
        self.last_stats = stats
        parts = [f"{stats.fps:.1f} FPS", f"{stats.faces} face{'' if stats.faces == 1 else 's'}"]
        stages = stats.timings.stages
        if stages is not None:
            parts += [f"detect {stages.detect_ms:.0f} ms", f"classify {stages.classify_ms:.0f} ms"]
        parts.append(f"draw {stats.timings.draw_ms:.0f} ms")
        if self.models_message:
            parts.append("no models: video only")
        self.status_label.setText("  ·  ".join(parts))

    def on_models_ready(self):
        self.statusBar().showMessage("Models loaded.", STATUS_HINT_MS)
        self._open_initial_source()

    def on_models_failed(self, message: str):
        self.models_message = message
        self.models_banner.setText(message + "  Video still plays, without face labels.")
        self.models_banner.show()
        self._open_initial_source()

    def _open_initial_source(self):
        spec = self.initial_source if self.initial_source is not None else str(self.prefs.camera())
        self.open_source(spec)

    def on_source_opened(self, name: str, is_live: bool):
        self.paused = False
        self.act_pause.setChecked(False)
        self.act_pause.setText("&Pause")
        if is_live and self.current_source and self.current_source.isdigit():
            self.prefs.set_camera(int(self.current_source))
        self.setWindowTitle(f"Face age & gender — {name}")
        self.statusBar().clearMessage()  # "Playback ended" or an error from the source before
        self._update_actions(True)

    def on_source_failed(self, message: str):
        self.current_source = None
        self.setWindowTitle("Face age & gender")  # the source named there is no longer playing
        self.status_label.setText("")
        self._update_actions(False)
        self.show_message(message)  # a models problem stays in the banner above

    def on_source_ended(self, early_note: str = ""):
        self.current_source = None
        self.status_label.setText("")  # no frame rate while nothing plays
        self._update_actions(False)
        text = "Playback ended. Open a video, play the demo clip, or choose a camera."
        if early_note:
            text = f"{early_note} {text}"
        if self.stack.currentWidget() is self.view:  # keep the last picture (a photo stays on screen)
            self.statusBar().showMessage(text)
        else:
            self.show_message(text)

    def on_recording_changed(self, recording: bool, info: str):
        self.recording = recording
        self.act_record.setChecked(recording)
        self.statusBar().showMessage(f"Recording to {info}" if recording else f"Recording saved: {info}", STATUS_DONE_MS)

    def on_recording_failed(self, message: str):
        self.recording = False
        self.act_record.setChecked(False)
        self.statusBar().showMessage(message, STATUS_PROBLEM_MS)

    # ---------- helpers ----------
    def show_message(self, text: str):
        self.panel.text.setText(text)
        self.stack.setCurrentWidget(self.panel)

    def _update_slider_labels(self):
        self.crop_value.setText(f" {self.config.crop_scale:.2f}x ")
        self.conf_value.setText(f" {self.config.detection_confidence:.0%} ")

    def _update_actions(self, playing: bool = False):
        for act in (self.act_pause, self.act_stop, self.act_record):
            act.setEnabled(playing)
        self.act_snapshot.setEnabled(playing or self.view.image is not None)

    # ---------- drag and drop ----------
    def dragEnterEvent(self, event):
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event):
        urls = [u for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.open_source(urls[0].toLocalFile())

    # ---------- shutdown ----------
    def closeEvent(self, event):
        self.prefs.set_geometry(self.saveGeometry())
        self.prefs.save_config(self.config, self.run_only_settings)
        self.prefs.sync()
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self, timeout_ms: int = 3000):
        """Stop the worker (it closes the source and any recording) and wait for its thread."""
        if self.thread.isRunning():
            self.requestQuit.emit()
            if not self.thread.wait(timeout_ms):
                self.thread.terminate()
                self.thread.wait()
