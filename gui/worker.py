"""The analysis worker: a QObject living on its own QThread, talking to the window only via signals.

It owns the models and the open source; the window never touches either. Its loop pumps its own
thread's event queue between frames so the window's commands (open, pause, setting changes) arrive as
queued slot calls, and it always works on the newest camera frame (see `CameraSource`). Each frame goes
through a `pipeline.session.Session`, the loop headless runs and the benchmark run too.

It keeps no copy of the settings: the config it starts with goes to the analyzer, and the window's
changes go to `FaceAnalyzer.configure`, which holds the one config the models run on.
"""
from __future__ import annotations

import time
import traceback
from dataclasses import dataclass

from PyQt6.QtCore import QCoreApplication, QObject, pyqtSignal, pyqtSlot
from PyQt6.QtGui import QImage

from core.config import AppConfig
from core.errors import SourceError, WeightsError
from gui.people_feed import PeopleFeed, bgr_to_qimage
from pipeline.annotate import FaceAnnotator
from pipeline.outputs import VideoRecorder
from pipeline.session import FrameTimings, Session
from pipeline.sources import ImageFilesSource, early_end_note, open_source

IDLE_WAIT_S = 0.02
# a file's playback schedule trails the clock by at most this: after a stall it plays on at its own rate
# instead of racing through frames to catch up
MAX_FILE_LAG_S = 0.5
FPS_WINDOW_FRAMES = 20


@dataclass(frozen=True)
class FrameStats:
    """What the status bar shows about the newest frame."""

    timings: FrameTimings
    fps: float            # frames shown per second over the last FPS_WINDOW_FRAMES
    faces: int
    width: int
    height: int


class AnalysisWorker(QObject):
    frameReady = pyqtSignal(QImage)
    statsReady = pyqtSignal(object)          # FrameStats
    modelsReady = pyqtSignal()
    modelsFailed = pyqtSignal(str)
    sourceOpened = pyqtSignal(str, bool)     # name, is_live
    sourceFailed = pyqtSignal(str)           # message for the user
    sourceEnded = pyqtSignal(str)         # "" or why the end came early (a truncated file)
    recordingChanged = pyqtSignal(bool, str)  # recording?, path
    recordingFailed = pyqtSignal(str)         # why nothing (more) is recorded; recording has stopped
    peopleReady = pyqtSignal(list)           # [PersonRow] for the people panel, at most PANEL_REFRESH_HZ
    summaryReady = pyqtSignal(dict)          # SessionSummary.to_dict(), about once a second
    finished = pyqtSignal()

    def __init__(self, config: AppConfig, analyzer_factory=None):
        super().__init__()
        self._start_config = config   # handed to the analyzer once; changes go to analyzer.configure
        self._analyzer_factory = analyzer_factory
        self.analyzer = None
        self.annotator = FaceAnnotator(show_track_id=False)
        self.source = None
        self.session: Session | None = None
        self.paused = False
        self.loop = False
        self._quit = False
        self._next_frame_due = 0.0
        self._frame_times: list[float] = []
        self.people = PeopleFeed()  # blur, session summary, people-panel rows

    # ---- slots (called from the window through queued signals) ----
    @pyqtSlot()
    def run(self):
        """Load the models, then serve frames until `stop` is requested."""
        self._load_models()
        while not self._quit:
            QCoreApplication.processEvents()
            if self._quit:
                break
            if self.source is None or self.paused:
                time.sleep(IDLE_WAIT_S)
                continue
            try:
                self._step()
            except Exception as exc:  # noqa: BLE001 - an exception escaping a Qt slot aborts the app
                traceback.print_exc()  # a bug: the window says what to do, the terminal keeps the report
                self._close_source()  # finishes any recording: an .mp4 plays only once closed
                self.sourceFailed.emit(f"Playback stopped by an unexpected error ({type(exc).__name__}: {exc}). "
                                       f"Open the file or camera again, or another one.")
        self._close_source()
        self.finished.emit()

    @pyqtSlot(str)
    def open_source(self, spec: str):
        self._close_source()
        try:
            self.source = open_source(spec)
        except SourceError as exc:
            self.sourceFailed.emit(str(exc))
            return
        if self.analyzer is not None:
            # files: every shown face labelled at once (a frame may run late); live: the frame budget rules
            self.analyzer.configure(realtime=self.source.is_live)
        self.session = Session(self.analyzer, tracked=not isinstance(self.source, ImageFilesSource),
                               fps=self.source.fps, annotator=self.annotator, prepare=self.people.observe,
                               on_record_error=self._stop_recording,
                               stream_frames=self.source.length_below(self.analyzer.config.confirm_hits)
                               if self.analyzer is not None else None)
        self.session.restart()
        self.paused = False
        self._next_frame_due = time.perf_counter()
        self._frame_times.clear()
        self.people.start(self.source)   # the window's summary dock starts over on sourceOpened
        self.sourceOpened.emit(self.source.name, self.source.is_live)

    @pyqtSlot()
    def stop_source(self):
        self._close_source()
        self.sourceEnded.emit("")

    @pyqtSlot(bool)
    def set_paused(self, paused: bool):
        self.paused = paused
        self._next_frame_due = time.perf_counter()

    @pyqtSlot(bool)
    def set_loop(self, loop: bool):
        self.loop = loop

    @pyqtSlot(dict)
    def configure(self, settings: dict):
        """Setting changes from the window ({name: value}, names of `AppConfig`), from the next frame on."""
        if self.analyzer is not None:
            self.analyzer.configure(**settings)

    @pyqtSlot(str)
    def start_recording(self, path: str):
        self._stop_recording()
        if self.session is None:
            self.recordingFailed.emit("Nothing to record: open a camera or video first.")
            return
        try:
            self.session.recorder = VideoRecorder(path, self.session.fps)
        except SourceError as exc:
            self.recordingFailed.emit(str(exc))
            return
        self.recordingChanged.emit(True, path)

    @pyqtSlot()
    def stop_recording(self):
        self._stop_recording()

    @pyqtSlot()
    def stop(self):
        self._quit = True

    # ---- people panel, session summary, blur (see gui.people_feed) ----
    @pyqtSlot(bool)
    def set_blur(self, blur: bool):
        self.people.blur = blur

    @pyqtSlot(bool)
    def set_people_wanted(self, wanted: bool):
        self.people.rows_wanted = wanted

    @pyqtSlot(int)
    def set_highlight(self, track_id: int):
        self.people.highlight_id = track_id if track_id >= 0 else None

    # ---- internals ----
    def _load_models(self):
        try:
            if self._analyzer_factory is not None:
                self.analyzer = self._analyzer_factory(self._start_config)
            else:
                from pipeline.analyzer import FaceAnalyzer
                self.analyzer = FaceAnalyzer(self._start_config)
        except WeightsError as exc:
            self.modelsFailed.emit(str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - the window must show it, not die
            traceback.print_exc()
            self.modelsFailed.emit(f"The models could not be started ({type(exc).__name__}: {exc}). Run `python "
                                   f"main.py --headless --source demo/demo_faces.mp4` in a terminal for the full "
                                   f"error, and reinstall with `pip install -r requirements.txt` if a library is named.")
            return
        self.modelsReady.emit()

    def _step(self):
        src = self.source
        if not src.is_live:  # play files at their own rate, never faster
            wait_s = self._next_frame_due - time.perf_counter()
            if wait_s > 0:
                time.sleep(min(wait_s, IDLE_WAIT_S))
                return
            self._next_frame_due = max(self._next_frame_due + 1.0 / src.fps, time.perf_counter() - MAX_FILE_LAG_S)
        try:
            frame = src.read()
        except SourceError as exc:
            self._close_source()
            self.sourceFailed.emit(str(exc))
            return
        if frame is None:
            if self.loop and src.rewind():
                self.session.restart()
                self.people.new_segment()
                return
            note = early_end_note(src.name, self.session.frames, src.announced_frames)
            self._close_source()
            self.sourceEnded.emit(note)
            return
        result = self.session.step(frame)  # analysed, blurred if asked, summary fed, annotated, recorded
        self.frameReady.emit(bgr_to_qimage(self.people.highlight(result.annotated, result.faces)))
        rows, summary = self.people.take_updates()
        if rows is not None:
            self.peopleReady.emit(rows)
        if summary is not None:
            self.summaryReady.emit(summary)
        self._frame_times.append(time.perf_counter())
        self._frame_times = self._frame_times[-FPS_WINDOW_FRAMES:]
        span = self._frame_times[-1] - self._frame_times[0]
        self.statsReady.emit(FrameStats(result.timings, (len(self._frame_times) - 1) / span if span > 0 else 0.0,
                                        len(result.faces), result.frame.shape[1], result.frame.shape[0]))

    def _stop_recording(self, error: str = "", frames_written: int = 0):
        """Close the file (an .mp4 plays only once closed) and say what became of it. After a write error the
        session has closed the file already and passes the error and the frames it holds here."""
        recorder = self.session.recorder if self.session is not None else None
        if recorder is not None:
            self.session.recorder = None
            recorder.close()
        if error:
            self.recordingFailed.emit(f"Recording stopped after {frames_written} frames (kept): {error}" if frames_written
                                      else f"Could not start recording: {error}")
        elif recorder is None:
            return
        elif recorder.frames_written == 0:
            self.recordingFailed.emit("Nothing was recorded: no frame arrived while recording.")
        else:
            self.recordingChanged.emit(False, str(recorder.path))

    def _close_source(self):
        self._stop_recording()
        if self.source is not None:
            self.summaryReady.emit(self.people.final_summary(ended=True))  # the whole session, to its last frame
            self.peopleReady.emit([])                             # no one is in view any more
            self.source.close()
            self.source = None
            self.session = None
