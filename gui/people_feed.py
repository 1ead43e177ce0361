"""The worker-thread side of the people panel, the session summary and face blurring.

`PeopleFeed` lives inside `AnalysisWorker` and sees every frame. It blurs faces when asked
(`pipeline.privacy`), feeds the session summary (`pipeline.summary`), and, at most `PANEL_REFRESH_HZ`
times a second, packs what the people panel shows into `PersonRow`s: plain values plus a small QImage
thumbnail cut from the (blurred, if blurring is on) frame *before* boxes and labels are drawn. The
window only displays these copies; it never sees a model or a live frame buffer.

Why throttle: the panel is read by a person, and five refreshes a second look live; rebuilding table
rows and thumbnails for every frame of an 8-face, 30 FPS stream would cost the window time that the
video needs. The summary changes more slowly still (a person counts after a second), so it is sent
once a second and whenever a stream ends.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import cv2
import numpy as np
from PyQt6.QtGui import QImage

from core.crop import square_crop
from core.face import Face
from pipeline.privacy import FaceBlurrer, blur_faces
from pipeline.sources import FrameSource, ImageFilesSource
from pipeline.summary import SessionSummary

PANEL_REFRESH_HZ = 5.0          # people-panel updates per second (at most)
SUMMARY_REFRESH_S = 1.0         # seconds between session-summary updates sent to the window
THUMBNAIL_PX = 56               # side of a face thumbnail in the panel
THUMBNAIL_SCALE = 1.3           # thumbnail square: this many times the box's longer side (some hair and chin)
HIGHLIGHT_BGR = (0, 230, 255)   # the selected person's box: yellow, unlike either gender colour


@dataclass(frozen=True)
class PersonRow:
    """One row of the people panel: copies only, safe to hand to the GUI thread."""

    track_id: int | None            # None for a face in a photo (photos are not tracked)
    thumbnail: QImage
    gender: str | None              # None while the track settles (not labelled yet)
    gender_prob: float | None
    age_probs: tuple[float, ...] | None
    apparent_age: float | None      # expected age read from the age-group distribution
    seconds_in_view: float | None   # None for photos
    gender_unsure: bool = False     # below the tag's threshold: the tag shows "?" (core.face)
    unjudgeable: str | None = None  # "too small" / "too dark": a marker, no classification


def bgr_to_qimage(image_bgr: np.ndarray) -> QImage:
    """A QImage that owns a copy of the pixels (safe to hand to the window's thread)."""
    rgb = np.ascontiguousarray(cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB))
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def draw_highlight(scene: np.ndarray, face: Face) -> np.ndarray:
    """A thick yellow frame just outside the face's box (drawn on the displayed copy only)."""
    thickness = max(2, int(round(min(scene.shape[:2]) / 160)))
    x1, y1, x2, y2 = (int(round(v)) for v in face.box)
    gap = thickness + 2
    cv2.rectangle(scene, (x1 - gap, y1 - gap), (x2 + gap, y2 + gap), HIGHLIGHT_BGR, thickness, cv2.LINE_AA)
    return scene


class PeopleFeed:
    """Per-frame blur + summary bookkeeping for one stream, and throttled snapshots for the window."""

    def __init__(self, clock=time.perf_counter):
        self.blur = False
        self.rows_wanted = False        # the panel is open: only then are rows built
        self.highlight_id: int | None = None
        self._clock = clock
        self._blurrer = FaceBlurrer()
        self.summary = SessionSummary()
        self._source: FrameSource | None = None
        self._start = 0.0
        self._frames = 0
        self._next_rows_at = 0.0
        self._next_summary_at = 0.0
        self._rows: list[PersonRow] | None = None
        self._summary: dict | None = None
        self._photos_counted: set = set()   # a looped photo or folder counts its people once

    def start(self, source: FrameSource) -> None:
        """A new stream: a new session summary and a new clock."""
        self._source = source
        self._start = self._clock()
        self._frames = 0
        self._blurrer.reset()
        self.summary = SessionSummary()
        self._summary = self.summary.to_dict()
        self._photos_counted = set()
        self._next_rows_at = self._next_summary_at = 0.0

    def new_segment(self) -> None:
        """The analyzer was reset within the stream (a looped clip): track ids restart."""
        self.summary.new_segment()
        self._blurrer.reset()

    def stream_time_s(self) -> float:
        """Video time for files (frames / fps: pausing or a slow machine does not stretch it), wall time live."""
        src = self._source
        if src is None or src.is_live:
            return self._clock() - self._start
        return self._frames / src.fps

    def observe(self, frame_bgr: np.ndarray, faces: list[Face], unconfirmed: list[Face] = ()) -> np.ndarray:
        """Blur (if on) a copy of the frame and fold the faces into the summary; returns the copy, to be
        annotated. `unconfirmed`: detected faces not shown yet (the analyzer's `unconfirmed_faces`), blurred
        too but not counted. Rows and the summary become due here and are collected with `take_updates`."""
        now_s = self.stream_time_s()
        self._frames += 1
        stills = isinstance(self._source, ImageFilesSource)
        scene = frame_bgr.copy()
        if self.blur:
            scene = blur_faces(scene, faces) if stills else self._blurrer.apply(scene, [*faces, *unconfirmed])
        if stills:
            photo = self._source.current_path
            if photo not in self._photos_counted:
                self._photos_counted.add(photo)
                self.summary.add_stills(faces, photo=photo.name)
        else:
            self.summary.update(now_s, faces)
        wall = self._clock()
        if self.rows_wanted and (wall >= self._next_rows_at or stills):
            self._next_rows_at = wall + 1.0 / PANEL_REFRESH_HZ
            self._rows = [self._row(scene, face, now_s) for face in faces]
        if wall >= self._next_summary_at or stills:
            self._next_summary_at = wall + SUMMARY_REFRESH_S
            self._summary = self.summary.to_dict()
        return scene

    def take_updates(self) -> tuple[list[PersonRow] | None, dict | None]:
        """What is due for the window since the last call (None: nothing new)."""
        rows, summary = self._rows, self._summary
        self._rows = self._summary = None
        return rows, summary

    def final_summary(self, ended: bool = False) -> dict:
        """The summary now; `ended`: the stream is over (`SessionSummary.to_dict`)."""
        return self.summary.to_dict(ended)

    def highlight(self, annotated: np.ndarray, faces: list[Face]) -> np.ndarray:
        """Mark the person selected in the panel (display only: recordings stay unmarked)."""
        if self.highlight_id is not None:
            for face in faces:
                if face.track_id == self.highlight_id:
                    draw_highlight(annotated, face)
        return annotated

    def _row(self, scene: np.ndarray, face: Face, now_s: float) -> PersonRow:
        thumb = bgr_to_qimage(square_crop(scene, face.box, THUMBNAIL_SCALE, THUMBNAIL_PX))
        record = self.summary.record(face.track_id) if face.track_id is not None else None
        return PersonRow(
            track_id=face.track_id, thumbnail=thumb, gender=face.gender, gender_prob=face.gender_prob,
            age_probs=None if face.age_probs is None else tuple(float(p) for p in face.age_probs),
            apparent_age=face.apparent_age_years,
            seconds_in_view=None if record is None else now_s - record.first_s,
            gender_unsure=face.gender_unsure, unjudgeable=face.unjudgeable)
