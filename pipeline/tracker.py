"""A small IoU tracker with per-track probability smoothing and label hysteresis.

Why not ultralytics' trackers: they live inside `YOLO.track` (Kalman filters tuned for pedestrians and
state hidden in the model object); faces at webcam distance move little between frames, so greedy
IoU matching is enough, costs microseconds, and keeps the tracks in plain Python the pipeline owns.

Stability comes from four things: a track keeps its id through short detection drop-outs; a new track
*settles* first (classified on consecutive frames, no label drawn until the plain mean of its first few
classifications exists, so one unlucky first crop does not become a label that must then be taken back);
its class probabilities are then an exponential running mean of the classifications it receives; and its
*shown* gender/age group only switches when a new one beats the shown one by a margin (hysteresis).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from classification.labels import AGE_GROUPS, GENDERS
from pipeline.face import Box, Face


def iou(a: Box, b: Box) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@dataclass
class Track:
    track_id: int
    box: Box
    score: float
    missed_frames: int = 0
    frames_since_classified: int = 10 ** 6   # never classified yet
    female_prob: float | None = None          # smoothed P(female)
    age_probs: np.ndarray | None = field(default=None, repr=False)  # smoothed 8-way distribution
    shown_gender: int | None = None
    shown_age: int | None = None
    classifications: int = 0

    def is_settling(self, settle_classifications: int) -> bool:
        """True until the track has the classifications its first label is the mean of."""
        return self.classifications < settle_classifications

    def add_classification(self, gender: str, gender_prob: float, age_probs: np.ndarray,
                           alpha: float, margin: float, settle_classifications: int = 1) -> None:
        """Fold one classification into the running means and update the shown labels with hysteresis.

        While settling (the first `settle_classifications`) the means are plain means; after, exponential
        running means with weight `alpha`. Labels are shown from the last settling classification on.
        """
        female = gender_prob if gender == "female" else 1.0 - gender_prob
        age_probs = np.asarray(age_probs, np.float32)
        self.classifications += 1
        self.frames_since_classified = 0
        weight = 1.0 / self.classifications if self.classifications <= settle_classifications else alpha
        if self.age_probs is None:
            self.female_prob, self.age_probs = female, age_probs.copy()
        else:
            self.female_prob = (1 - weight) * self.female_prob + weight * female
            self.age_probs = (1 - weight) * self.age_probs + weight * age_probs
        if self.is_settling(settle_classifications):
            return
        gender_probs = np.array([1.0 - self.female_prob, self.female_prob])
        self.shown_gender = _with_hysteresis(gender_probs, self.shown_gender, margin)
        self.shown_age = _with_hysteresis(self.age_probs, self.shown_age, margin)

    def to_face(self) -> Face:
        face = Face(box=self.box, score=self.score, track_id=self.track_id)
        if self.shown_gender is None:
            return face
        gender_probs = np.array([1.0 - self.female_prob, self.female_prob])
        # the shown age group leads the distribution handed on, so label and probabilities agree
        age = self.age_probs.copy()
        if self.shown_age is not None and int(np.argmax(age)) != self.shown_age:
            age[self.shown_age] = age.max() + 1e-6
            age /= age.sum()
        return face.with_classification(GENDERS[self.shown_gender], gender_probs[self.shown_gender], age)


def _with_hysteresis(probs: np.ndarray, shown: int | None, margin: float) -> int:
    best = int(np.argmax(probs))
    if shown is None or best == shown or probs[best] >= probs[shown] + margin:
        return best
    return shown


class IouTracker:
    """Greedy IoU matching of detections to tracks; ids are never reused within one stream."""

    def __init__(self, iou_threshold: float = 0.3, max_missed_frames: int = 10):
        self.iou_threshold, self.max_missed_frames = iou_threshold, max_missed_frames
        self.tracks: list[Track] = []
        self._next_id = 1

    def update(self, detections: list[Face]) -> list[Track]:
        """Match this frame's detections; returns the tracks seen in this frame, in detection order."""
        pairs = sorted(((iou(t.box, d.box), ti, di) for ti, t in enumerate(self.tracks)
                        for di, d in enumerate(detections)), reverse=True)
        track_for_det: dict[int, Track] = {}
        used_tracks: set[int] = set()
        for overlap, ti, di in pairs:
            if overlap < self.iou_threshold:
                break
            if ti in used_tracks or di in track_for_det:
                continue
            used_tracks.add(ti)
            track_for_det[di] = self.tracks[ti]
        for ti, track in enumerate(self.tracks):
            if ti not in used_tracks:
                track.missed_frames += 1
        for di, det in enumerate(detections):
            track = track_for_det.get(di)
            if track is None:
                track = Track(self._next_id, det.box, det.score)
                self._next_id += 1
                self.tracks.append(track)
                track_for_det[di] = track
            track.box, track.score, track.missed_frames = det.box, det.score, 0
            track.frames_since_classified += 1
        self.tracks = [t for t in self.tracks if t.missed_frames <= self.max_missed_frames]
        return [track_for_det[di] for di in range(len(detections))]

    def due_for_classification(self, seen: list[Track], every_n_frames: int, limit: int,
                               settle_classifications: int = 1) -> list[Track]:
        """Tracks to classify this frame, at most `limit`: settling tracks (never-classified first) on
        every frame, then settled ones once every `every_n_frames`, the stalest first."""
        due = [t for t in seen if t.is_settling(settle_classifications) or t.frames_since_classified >= every_n_frames]
        due.sort(key=lambda t: (not t.is_settling(settle_classifications), -t.frames_since_classified))
        return due[:limit]
