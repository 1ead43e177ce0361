"""A small IoU tracker with per-track probability smoothing and label hysteresis.

Why not ultralytics' trackers: they live inside `YOLO.track` (Kalman filters tuned for pedestrians and
state hidden in the model object); faces at webcam distance move little between frames, so greedy
IoU matching is enough, costs microseconds, and keeps the tracks in plain Python the pipeline owns.

A new track is *tentative* until it has been detected on `min_hits` consecutive frames (SORT's min-hits):
only confirmed tracks are shown, so a box that flashes for one or two frames on a hand or a microphone
never appears, and a tentative track missed once is dropped. `start_new_shot()` (called on a scene cut)
drops every track, so no id and no smoothed probability crosses a cut.

Stability comes from four things: a track keeps its id through short detection drop-outs; a new track
*settles* first (classified on consecutive frames, no label drawn until the plain mean of its first few
classifications exists, so one unlucky first crop does not become a label that must then be taken back);
its class probabilities are then an exponential running mean of the classifications it receives; and its
*shown* gender/age group only switches when a new one beats the shown one by a margin (hysteresis).
The "?" shown for an unsure part has its own hysteresis band (`AppConfig.unsure_band_prob`), so a
probability hovering at the threshold does not blink between "?" and an answer.

The running mean has a long memory (`AppConfig.smoothing_alpha`), because on real footage
(docs/measurements.md, "Real footage") the shown-label changes left were a short memory's mean following
one person's crops as they turned, talked and blinked. A long memory alone would make a real change (two
people swapped without a cut) take many classifications to show, so the track also watches its last
`CHANGE_WINDOW_CLASSIFICATIONS` classifications: when each of them disagrees with the track's mean by
`CHANGE_DISTANCE_PROB` or more, the track's evidence restarts from them and is labelled as a new track's
first label would be.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from core.config import AppConfig
from core.face import AGE_MIN_PROB, Face, gender_min_prob
from core.geometry import Box, iou
from core.labels import GENDERS, female_prob

# An answered part turns to "?" only when its probability falls `AppConfig.unsure_band_prob` below the
# threshold (and an unsure part is answered again from ANSWER_BAND_PROB above it). Wide because within one
# track (one person, one shot) the evidence for an answer already given does not go away with one bad
# angle. 0.15 is the narrowest band at which no "?" blinks on the demo clip (shaken, cuts) and the Intel
# sample clips (`python -m bench.unsure_band`): no band, 5 + 3 shown-label changes; 0.05 and 0.10, 2 + 3
# (a turning head's age group blinks); 0.15-0.25, 2 + 2, both evidence arriving rather than flicker
# (docs/measurements.md, "Real footage").
# A "?" is answered only this far above the threshold, and at most at ANSWER_MAX_PROB: the "?" the user
# reads is replaced only when the evidence has clearly passed it (adult gender 0.97, a young-looking
# face's gender 0.97, age group 0.55). A first label and an answer replacing another still need the plain
# threshold. Measured on the real clips of bench.real_clips (`python -m bench.bench --stability-only
# --skip-startup --real-clips DIR`, docs/measurements.md, "Real footage"; shown-label changes in 3.05
# person-minutes, and judged face-frames with gender / age group answered): with the stage-19 classifier a
# flat band of 0.05 gave 11 changes (85.7% / 84.3%), 0.10 gave 7 (84.2% / 83.1%), 0.15 gave 4 but could
# never answer an adult's gender "?" (0.85 + 0.15 = 1.0) nor, at any band, a young-looking face's (0.95 +
# band); 0.15 capped at 0.97 gives 5 (83.1% / 82.7%; stage 13 at 0.05: 6, 81.3% / 72.9%), the demo clip 0.
ANSWER_BAND_PROB = 0.15
ANSWER_MAX_PROB = 0.97
# A real change within a track: each of its last CHANGE_WINDOW_CLASSIFICATIONS classifications is at least
# CHANGE_DISTANCE_PROB from the track's mean, in gender (difference of P(female)) or age group (total
# variation distance); two different people's sure crops differ by about 1. One person's crops never all
# did: over the 1,322 full windows of the real clips the closest of the four was at most 0.35 (gender) and
# 0.25 (age) away. 4 classifications: 24 frames (1.0 s at 25 fps, 1.6 s at 15 fps) from swap to new label.
CHANGE_WINDOW_CLASSIFICATIONS = 4
CHANGE_DISTANCE_PROB = 0.5


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
    evidence_count: int = 0                   # classifications the running means hold (restarts on a change)
    recent: deque = field(default_factory=lambda: deque(maxlen=CHANGE_WINDOW_CLASSIFICATIONS), repr=False)
    hits: int = 1                             # consecutive frames detected, counted up to confirmation
    confirmed: bool = False                   # shown at all (stays True through short drop-outs)
    gender_unsure: bool = False
    age_unsure: bool = False
    unjudgeable: str | None = None            # TOO_SMALL / TOO_DARK, set by the analyzer each frame
    judged: bool = False                      # unjudgeable has been decided at least once (hysteresis)

    def is_settling(self, settle_classifications: int) -> bool:
        """True until the track has the classifications its first label is the mean of."""
        return self.classifications < settle_classifications

    def add_classification(self, gender: str, gender_prob: float, age_probs: np.ndarray,
                           alpha: float, margin: float, settle_classifications: int = 1,
                           unsure_band: float = AppConfig.unsure_band_prob) -> None:
        """Fold one classification into the running means and update the shown labels with hysteresis.

        The means are plain means while 1/n > `alpha`, exponential running means with weight `alpha` after.
        Labels are shown from the last settling classification (the `settle_classifications`-th) on.
        `unsure_band`: how far below its threshold an answered part falls before it shows "?".
        """
        female = female_prob(gender, gender_prob)
        age_probs = np.asarray(age_probs, np.float32)
        self.classifications += 1
        self.evidence_count += 1
        self.frames_since_classified = 0
        self.recent.append((female, age_probs))
        # the plain mean of all classifications until 1/n falls to alpha, then a running mean of weight alpha:
        # one person within one shot, so early evidence counts as much as late until the window is full
        weight = max(1.0 / self.evidence_count, alpha)
        if self.age_probs is None:
            self.female_prob, self.age_probs = female, age_probs.copy()
        else:
            self.female_prob = (1 - weight) * self.female_prob + weight * female
            self.age_probs = (1 - weight) * self.age_probs + weight * age_probs
        if self.is_settling(settle_classifications):
            return
        # a real change: the evidence restarts, and its label is judged as a new track's first label
        restarted = self._recent_disagrees()
        if restarted:
            self._restart_evidence_from_recent()
        gender_probs = np.array([1.0 - self.female_prob, self.female_prob])
        first = self.shown_gender is None or restarted
        shown_gender, shown_age = self.shown_gender, self.shown_age
        self.shown_gender = _with_hysteresis(gender_probs, None if first else self.shown_gender, margin)
        self.shown_age = _with_hysteresis(self.age_probs, None if first else self.shown_age, margin)
        self.gender_unsure = _unsure(float(gender_probs[self.shown_gender]), gender_min_prob(self.age_probs),
                                     None if first else self.gender_unsure, self.shown_gender == shown_gender,
                                     unsure_band)
        self.age_unsure = _unsure(float(self.age_probs[self.shown_age]), AGE_MIN_PROB,
                                  None if first else self.age_unsure, self.shown_age == shown_age, unsure_band)

    def _recent_distance(self) -> tuple[float, float]:
        """(gender, age): how far the closest of the last classifications is from the track's mean."""
        gender = min(abs(f - self.female_prob) for f, _ in self.recent)
        age = min(0.5 * float(np.abs(a - self.age_probs).sum()) for _, a in self.recent)
        return gender, age

    def _recent_disagrees(self) -> bool:
        """Each of the last classifications disagrees with the track's mean (gender or age): a real change."""
        return len(self.recent) == self.recent.maxlen and max(self._recent_distance()) >= CHANGE_DISTANCE_PROB

    def _restart_evidence_from_recent(self) -> None:
        """The track's evidence becomes the mean of its last classifications (a real change)."""
        self.female_prob = float(np.mean([f for f, _ in self.recent]))
        self.age_probs = np.mean([a for _, a in self.recent], axis=0).astype(np.float32)
        self.evidence_count = len(self.recent)
        self.recent.clear()

    def to_face(self, partial: bool = False) -> Face:
        """The track as this frame's `Face`. `partial`: label a still-settling track from the classifications
        it has (for files, where every shown row must carry a label; live, it stays unlabelled until settled)."""
        face = Face(box=self.box, score=self.score, track_id=self.track_id, unjudgeable=self.unjudgeable)
        if self.unjudgeable:
            return face
        if self.shown_gender is None:
            if not partial or self.age_probs is None:
                return face
            female = self.female_prob
            return face.with_classification(GENDERS[int(female >= 0.5)], max(female, 1.0 - female), self.age_probs)
        gender_probs = np.array([1.0 - self.female_prob, self.female_prob])
        # the shown age group leads the distribution handed on, so label and probabilities agree
        age = self.age_probs.copy()
        if self.shown_age is not None and int(np.argmax(age)) != self.shown_age:
            age[self.shown_age] = age.max() + 1e-6
            age /= age.sum()
        return face.with_classification(GENDERS[self.shown_gender], gender_probs[self.shown_gender], age,
                                        self.gender_unsure, self.age_unsure)


def _unsure(prob: float, threshold: float, was_unsure: bool | None, same_answer: bool, unsure_band: float) -> bool:
    """Whether a part shows "?", with hysteresis around `threshold`: a first label (`was_unsure` None) and a
    different answer replacing a shown one use the plain threshold; an answer kept keeps it down to
    `unsure_band` below it, and a "?" is answered only from `ANSWER_BAND_PROB` above it (at most
    from `ANSWER_MAX_PROB`)."""
    if was_unsure is None or (not was_unsure and not same_answer):
        return prob < threshold
    return prob < (min(threshold + ANSWER_BAND_PROB, ANSWER_MAX_PROB) if was_unsure else threshold - unsure_band)


def _with_hysteresis(probs: np.ndarray, shown: int | None, margin: float) -> int:
    best = int(np.argmax(probs))
    if shown is None or best == shown or probs[best] >= probs[shown] + margin:
        return best
    return shown


class IouTracker:
    """Greedy IoU matching of detections to tracks; ids are never reused within one stream.

    `min_hits`: consecutive detections before a track is confirmed (1: at once). A tentative track that
    misses a frame is dropped; a confirmed one survives `max_missed_frames` misses.
    """

    def __init__(self, iou_threshold: float = AppConfig.track_iou_threshold,
                 max_missed_frames: int = AppConfig.track_max_missed_frames, min_hits: int = 1):
        self.iou_threshold, self.max_missed_frames = iou_threshold, max_missed_frames
        self.min_hits = max(1, int(min_hits))
        self.tracks: list[Track] = []
        self._next_id = 1

    def start_new_shot(self) -> None:
        """Forget every track (a scene cut): the next detections start new, tentative tracks with new ids."""
        self.tracks = []

    def update(self, detections: list[Face]) -> list[Track]:
        """Match this frame's detections; returns the tracks seen in this frame (tentative ones included),
        in detection order. Check `Track.confirmed` before showing one."""
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
                track = Track(self._next_id, det.box, det.score, hits=0)
                self._next_id += 1
                self.tracks.append(track)
                track_for_det[di] = track
            track.box, track.score, track.missed_frames = det.box, det.score, 0
            track.hits += 1
            track.confirmed = track.confirmed or track.hits >= self.min_hits
            track.frames_since_classified += 1
        self.tracks = [t for t in self.tracks if t.missed_frames <= (self.max_missed_frames if t.confirmed else 0)]
        return [track_for_det[di] for di in range(len(detections))]

    def due_for_classification(self, seen: list[Track], every_n_frames: int, limit: int,
                               settle_classifications: int = 1) -> list[Track]:
        """Tracks to classify this frame, at most `limit`: settling tracks (never-classified first) on
        every frame, then settled ones once every `every_n_frames`, the stalest first. Tentative tracks are
        classified too, so a face's label is ready on the frame it is confirmed; unjudgeable ones never."""
        seen = [t for t in seen if not t.unjudgeable]
        due = [t for t in seen if t.is_settling(settle_classifications) or t.frames_since_classified >= every_n_frames]
        due.sort(key=lambda t: (not t.is_settling(settle_classifications), -t.frames_since_classified))
        return due[:limit]
