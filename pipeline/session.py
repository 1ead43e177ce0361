"""`Session`: one stream through the pipeline, frame by frame, the same way everywhere.

source -> analyze (photos) or track (video) -> prepare the scene (a copy; blurred where asked) ->
annotate -> record -> sinks (results table, summary, ...) -> typed timings. The GUI's worker, headless
runs and the benchmark all run this loop: the worker calls `step` once per frame between Qt events (it
paces files and pumps its own queue), headless runs and the benchmark iterate `run(frames)`.

What differs between them is passed in, not re-implemented: whether frames are tracked, whether anything
is drawn, how the scene is prepared (the GUI's people feed, headless blurring), the recorder, and sinks
that see every `FrameResult`. No Qt here.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from core.errors import SourceError
from core.face import Face
from core.images import FALLBACK_FPS, to_bgr
from pipeline.analyzer import FaceAnalyzer, StageTimings
from pipeline.annotate import FaceAnnotator
from pipeline.outputs import VideoRecorder

SceneHook = Callable[[np.ndarray, list[Face], list[Face]], np.ndarray]   # (frame, shown, pending) -> scene


@dataclass(frozen=True)
class FrameTimings:
    """Where one frame's time went, in milliseconds. `stages` is None when no models are loaded."""

    stages: StageTimings | None
    draw_ms: float = 0.0       # preparing the scene (blur, summary) and annotating it
    total_ms: float = 0.0      # analysis + drawing: what the frame cost before it was written anywhere


@dataclass
class FrameResult:
    index: int                          # 0-based frame number within the session
    time_s: float                       # video time (index / fps) for tracked streams; 0 for photos
    frame: np.ndarray                   # the input, as BGR
    faces: list[Face]                   # shown faces (confirmed tracks, or every face of a photo)
    pending: list[Face] = field(default_factory=list)  # detected, not shown yet: blurred, never drawn
    annotated: np.ndarray | None = None  # None when the session does not draw
    timings: FrameTimings = FrameTimings(None)


def keep_frame(frame: np.ndarray, faces: list[Face], pending: list[Face]) -> np.ndarray:
    """The default scene: an untouched copy of the frame (the input stays as it was)."""
    return frame.copy()


class Session:
    """Runs frames through an analyzer (None: video only, no faces) and an annotator.

    `tracked`: video (track ids, smoothing) or unrelated photos. `draw`: annotate at all (headless runs
    without --output skip it). `prepare`: makes the scene to draw on from the frame, the shown faces and
    the pending ones. `recorder`: gets every annotated frame (settable while running: the GUI's Record);
    a write error closes the recorder and goes to `on_record_error(message, frames_written)` or, without one, is raised.
    `sinks`: called with every `FrameResult`. `stream_frames`: the stream's length when it is shorter than
    the analyzer's confirmation (`FrameSource.length_below`), so its faces are still shown.
    """

    def __init__(self, analyzer: FaceAnalyzer | None, *, tracked: bool = True, fps: float = FALLBACK_FPS,
                 draw: bool = True, annotator: FaceAnnotator | None = None, prepare: SceneHook = keep_frame,
                 recorder: VideoRecorder | None = None, on_record_error: Callable[[str, int], None] | None = None,
                 sinks: Iterable[Callable[[FrameResult], None]] = (), stream_frames: int | None = None):
        self.analyzer, self.tracked, self.fps, self.draw = analyzer, tracked, fps, draw
        self.annotator = annotator or FaceAnnotator(show_track_id=False)
        self.prepare, self.recorder, self.on_record_error = prepare, recorder, on_record_error
        self.sinks = list(sinks)
        self.stream_frames = stream_frames
        self.frames = 0
        self.faces_total = 0

    def restart(self) -> None:
        """The stream starts again (a looped clip, a new source): new tracks."""
        if self.analyzer is not None:
            self.analyzer.reset(self.stream_frames)

    def step(self, frame: np.ndarray) -> FrameResult:
        """One frame through every stage; returns what it produced and what each stage cost."""
        t0 = time.perf_counter()
        frame = to_bgr(frame)
        faces, pending, stages = [], [], None
        if self.analyzer is not None:
            faces = self.analyzer.track(frame) if self.tracked else self.analyzer.analyze(frame)
            pending = list(self.analyzer.unconfirmed_faces)
            stages = self.analyzer.last_timings
        t1 = time.perf_counter()
        annotated = self.annotator.annotate(self.prepare(frame, faces, pending), faces) if self.draw else None
        t2 = time.perf_counter()
        index = self.frames
        result = FrameResult(index, index / self.fps if self.tracked else 0.0, frame, faces, pending, annotated,
                             FrameTimings(stages, (t2 - t1) * 1e3, (t2 - t0) * 1e3))
        if annotated is not None and self.recorder is not None:
            self._record(annotated)
        for sink in self.sinks:
            sink(result)
        self.frames += 1
        self.faces_total += len(faces)
        return result

    def run(self, frames: Iterable[np.ndarray]) -> Iterator[FrameResult]:
        """`step` over every frame, yielding each result (stop early by not asking for more)."""
        for frame in frames:
            yield self.step(frame)

    def _record(self, annotated: np.ndarray) -> None:
        try:
            self.recorder.write(annotated)
        except SourceError as exc:
            if self.on_record_error is None:
                raise
            recorder, self.recorder = self.recorder, None
            recorder.close()
            self.on_record_error(str(exc), recorder.frames_written)
