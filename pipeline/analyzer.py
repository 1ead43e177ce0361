"""`FaceAnalyzer`: detection + square crops + classification (+ tracking) for one frame at a time.

Qt-free on purpose: the GUI's worker thread, the headless CLI, the tests and the benchmark all call
the same `analyze` / `track` methods.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from core.config import AppConfig
from core.crop import square_crop
from core.face import Face, unjudgeable_reason
from core.images import to_bgr
from core.protocols import Classifier, Detector
from pipeline.scenecut import SceneCutDetector
from pipeline.tracker import IouTracker


@dataclass(frozen=True)
class StageTimings:
    """Milliseconds one frame spent in each named stage of the analyzer, and how many faces the classifier
    saw (fewer than shown when tracks reuse their labels). The too-small/too-dark check counts in `crop_ms`
    for photos and in `track_ms` for video, where it is kept per track with hysteresis."""

    detect_ms: float = 0.0
    crop_ms: float = 0.0
    classify_ms: float = 0.0
    track_ms: float = 0.0      # matching, smoothing and scene cuts; 0 for photos
    classified: int = 0


class FaceAnalyzer:
    """Finds every face in a frame and labels it with gender and Adience age group.

    `analyze(frame)` treats each call as an unrelated photo. `track(frame)` treats calls as consecutive
    video frames: faces keep a track id, each track is re-classified only every few frames and its
    labels are smoothed; a face is returned only once its track is confirmed (`confirm_hits` frames in a
    row), and a scene cut starts new tracks. `reset()` starts a new stream. `configure(**settings)` changes
    settings between frames. Faces too small or too dark to judge are returned unclassified, with
    `unjudgeable` set. After each call, `last_timings` holds the frame's `StageTimings` and
    `unconfirmed_faces` the faces detected but not shown yet (tracked mode: waiting for confirmation), which
    a privacy blur must cover too.

    `detector` and `classifier`: anything that fits `core.protocols.Detector` / `Classifier`; None loads
    the shipped models (or the weights the config names).
    """

    def __init__(self, config: AppConfig | None = None, *, crop_scale: float | None = None,
                 detector: Detector | None = None, classifier: Classifier | None = None):
        if config is not None and not isinstance(config, AppConfig):
            raise TypeError(f"FaceAnalyzer's first argument is an AppConfig (or None), not {type(config).__name__}: "
                            f"for the face-extraction size, FaceAnalyzer(crop_scale=1.4)")
        self.config = (config or AppConfig()).changed(**({} if crop_scale is None else {"crop_scale": crop_scale}))
        if detector is None:
            from detection import FaceDetector  # torch first: see runtime.py
            detector = FaceDetector(self.config.detector_weights, self.config.detection_confidence,
                                    self.config.detection_iou, self.config.detector_imgsz_px,
                                    self.config.max_faces, self.config.threads,
                                    trust_checkpoint=self.config.trust_checkpoints,
                                    tile_above_px=self.config.detector_tile_above_px)
        if classifier is None:
            from classification import AgeGenderClassifier
            classifier = AgeGenderClassifier(self.config.classifier_weights, self.config.threads,
                                             trust_checkpoint=self.config.trust_checkpoints)
        for part, protocol in ((detector, Detector), (classifier, Classifier)):
            if not isinstance(part, protocol):
                raise TypeError(f"{type(part).__name__} is not a {protocol.__name__}: give it the members "
                                f"core.protocols.{protocol.__name__} lists")
        self.detector, self.classifier = detector, classifier
        self.last_timings = StageTimings()
        self.reset()

    def configure(self, **settings) -> None:
        """Change settings (names of `AppConfig`, clamped) from the next frame on; the detector follows the
        confidence. The one place a running analyzer's settings change: the GUI's worker forwards the
        window's changes here, headless runs set `realtime` here."""
        self.config = self.config.changed(**settings)
        self.detector.confidence = self.config.detection_confidence

    def reset(self, stream_frames: int | None = None) -> None:
        """A new stream: new tracks. `stream_frames`: its whole length when known to be shorter than
        `confirm_hits` (`FrameSource.length_below`): a clip of one or two frames cannot show a face on three
        frames, nor tell a passing flash from a face, so there every detection is shown at once, as in a photo."""
        confirm = self.config.confirm_hits
        if stream_frames is not None and stream_frames < confirm:
            confirm = 1
        self.tracker = IouTracker(self.config.track_iou_threshold, self.config.track_max_missed_frames, confirm)
        self.cuts = SceneCutDetector()
        self.scene_cuts_seen = 0
        self.unconfirmed_faces: list[Face] = []

    def crops(self, frame_bgr: np.ndarray, faces: list[Face]) -> list[np.ndarray]:
        return [square_crop(frame_bgr, f.box, self.config.crop_scale, self.classifier.input_size_px) for f in faces]

    def analyze(self, frame: np.ndarray) -> list[Face]:
        """Faces of one still image, every face classified; keeps no state between calls."""
        frame = to_bgr(frame)
        self.unconfirmed_faces = []
        t0 = time.perf_counter()
        faces = self.detector.detect(frame)
        t1 = time.perf_counter()
        faces = [replace(f, unjudgeable=unjudgeable_reason(frame, f.box)) for f in faces]
        judgeable = [f for f in faces if not f.unjudgeable]
        crops = self.crops(frame, judgeable)
        t2 = time.perf_counter()
        results = iter(self.classifier.predict(crops))
        t3 = time.perf_counter()
        self.last_timings = StageTimings(detect_ms=(t1 - t0) * 1e3, crop_ms=(t2 - t1) * 1e3,
                                         classify_ms=(t3 - t2) * 1e3, classified=len(judgeable))
        out = []
        for face in faces:
            if not face.unjudgeable:
                r = next(results)
                face = face.with_classification(r.gender, r.gender_prob, r.age_probs)
            out.append(face)
        return out

    def track(self, frame: np.ndarray) -> list[Face]:
        """Faces of the next video frame (confirmed tracks only), with track ids and smoothed labels."""
        cfg = self.config
        frame = to_bgr(frame)
        t0 = time.perf_counter()
        detections = self.detector.detect(frame)
        t1 = time.perf_counter()
        if cfg.scene_cuts and self.cuts.update(frame):
            self.tracker.start_new_shot()
            self.scene_cuts_seen += 1
        seen = self.tracker.update(detections)
        for track in seen:
            track.unjudgeable = unjudgeable_reason(frame, track.box, track.unjudgeable, track.judged)
            track.judged = True
        settle = cfg.settle_classifications if cfg.smoothing else 1
        budget = cfg.max_classifications_per_frame if cfg.realtime else len(seen)
        due = self.tracker.due_for_classification(seen, cfg.classify_every_n_frames, budget, settle)
        t2 = time.perf_counter()
        crops = self.crops(frame, [t.to_face() for t in due])
        t3 = time.perf_counter()
        results = self.classifier.predict(crops)
        t4 = time.perf_counter()
        alpha = cfg.smoothing_alpha if cfg.smoothing else 1.0
        margin = cfg.label_switch_margin if cfg.smoothing else 0.0
        for track, result in zip(due, results):
            track.add_classification(result.gender, result.gender_prob, result.age_probs, alpha, margin, settle,
                                     cfg.unsure_band_prob)
        faces = [t.to_face(partial=not cfg.realtime) for t in seen if t.confirmed]
        # detected but not yet shown (confirmation): not drawn or counted, but blurred (pipeline.privacy),
        # or a face would be sharp on its first frames
        self.unconfirmed_faces = [Face(box=t.box, score=t.score, track_id=t.track_id) for t in seen if not t.confirmed]
        t5 = time.perf_counter()
        self.last_timings = StageTimings(detect_ms=(t1 - t0) * 1e3, crop_ms=(t3 - t2) * 1e3,
                                         classify_ms=(t4 - t3) * 1e3, track_ms=((t2 - t1) + (t5 - t4)) * 1e3,
                                         classified=len(due))
        return faces
