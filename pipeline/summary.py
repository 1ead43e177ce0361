"""`SessionSummary`: one result per *person* (not per frame) for a whole stream, and its export.

Qt-free so the GUI's worker, the headless CLI and the tests share it. Feed it every frame's faces with
`update(time_s, faces)`; it keeps one `TrackRecord` per track and reports, with `to_dict()`, how many
distinct people were seen, by gender and age group, and one line per person.

What counts as a person: a track that lived at least `MIN_PERSON_SEEN_S` seconds *and* at least
`MIN_PERSON_FRAMES` frames *and* was labelled at least once. A false detection (a patterned shirt, a
poster caught for a few frames) lives for a handful of frames; a real person in front of a camera stays
for seconds. The frame floor keeps a slow stream (2 fps: 1 s is 2 frames) from counting a two-frame
blip; the time floor keeps a fast one (60 fps: 5 frames is 80 ms) from doing the same. A whole stream
shorter than those floors (a clip of a few frames, a photo saved as a video) cannot tell a person from a
blip that way, so once it has ended (`to_dict(ended=True)`) every labelled track of it counts.

What a person's result is: the mean, over every labelled frame of its life, of the track's smoothed
probabilities (P(female) and the eight age-group probabilities). Its gender and age group are the
argmax of those means when that clears the threshold the screen's labels use (`core.face.gender_is_unsure`,
`age_is_unsure`), and `unsure` otherwise, so the summary never states an answer the screen would have
shown as `?`; the counts, the per-person label and the exported probabilities always agree, and a brief
wobble at the end of a track does not decide the person's result.

No re-identification: a person who leaves the view and comes back, or a looped clip, starts a new
track and counts again. `new_segment()` marks the point where track ids restart (a new
`FaceAnalyzer.reset()`), so an id reused after the restart is a new person, not an old one.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.cli import check_can_write
from core.errors import OutputError
from core.face import Face, age_is_unsure, gender_is_unsure
from core.labels import AGE_GROUPS, GENDERS, expected_age_years

UNSURE = "unsure"           # a person's gender or age group whose mean probability is under the screen's threshold
MIN_PERSON_SEEN_S = 1.0    # a track must stay this long (first to last sighting) to be a person
MIN_PERSON_FRAMES = 5      # ... and be seen on at least this many frames
PRUNE_AFTER_S = 10.0       # forget tracks that ended this long ago without becoming a person
PRUNE_EVERY_UPDATES = 100  # how often to look for such tracks (pruning is O(tracks))
SUMMARY_CSV_COLUMNS = ["track_id", "first_s", "last_s", "gender", "gender_prob", "female_prob", "age_group",
                       "apparent_age", *[f"p_{g}" for g in AGE_GROUPS], "photo"]


@dataclass
class TrackRecord:
    """Everything the summary keeps about one track: when it was seen and its running probability sums."""

    track_id: int
    first_s: float
    last_s: float
    frames: int = 0
    labelled_frames: int = 0
    female_sum: float = 0.0
    age_sum: np.ndarray = field(default_factory=lambda: np.zeros(len(AGE_GROUPS), np.float64), repr=False)
    still: bool = False   # a face in a photo: one sighting is the whole life, so the time floors do not apply
    photo: str | None = None  # that photo's file name, so a person of a folder can be found again

    def add(self, time_s: float, face: Face) -> None:
        self.last_s = max(self.last_s, time_s)
        self.frames += 1
        if face.is_classified:
            self.female_sum += face.female_prob
            self.age_sum += np.asarray(face.age_probs, np.float64)
            self.labelled_frames += 1

    @property
    def seen_s(self) -> float:
        return self.last_s - self.first_s

    def is_person(self, min_seen_s: float, min_frames: int) -> bool:
        if self.labelled_frames == 0:
            return False
        return self.still or (self.frames >= min_frames and self.seen_s >= min_seen_s)

    @property
    def female_prob(self) -> float | None:
        return self.female_sum / self.labelled_frames if self.labelled_frames else None

    @property
    def age_probs(self) -> np.ndarray | None:
        if not self.labelled_frames:
            return None
        probs = self.age_sum / self.labelled_frames
        return probs / max(probs.sum(), 1e-12)

    def result(self) -> dict:
        """This person's line in the summary (strict-JSON values only)."""
        female, age = self.female_prob, self.age_probs
        gender_index = int(female >= 0.5)
        gender_prob = female if gender_index else 1.0 - female
        age_index = int(np.argmax(age))
        return {"track_id": self.track_id, "first_s": round(self.first_s, 3), "last_s": round(self.last_s, 3),
                "gender": UNSURE if gender_is_unsure(gender_prob, age) else GENDERS[gender_index],
                "gender_prob": round(gender_prob, 4),   # of the likelier gender, shown or not
                "female_prob": round(female, 4),        # so an `unsure` person's lean is still in the file
                "age_group": UNSURE if age_is_unsure(age) else AGE_GROUPS[age_index],
                "age_probs": {g: round(float(p), 4) for g, p in zip(AGE_GROUPS, age)},
                "apparent_age": round(expected_age_years(age), 1), "photo": self.photo}


class SessionSummary:
    """Distinct people seen in one stream, counted once each however long they stay."""

    def __init__(self, min_seen_s: float = MIN_PERSON_SEEN_S, min_frames: int = MIN_PERSON_FRAMES):
        self.min_seen_s, self.min_frames = min_seen_s, min_frames
        self._records: dict[tuple[int, int], TrackRecord] = {}   # (segment, track_id) -> record
        self._segment = 0
        self._updates = 0
        self._still_ids = 0
        self._span_s: tuple[float, float] | None = None   # first and last video time fed to `update`

    def update(self, time_s: float, faces: list[Face]) -> None:
        """Fold in one video frame's faces; faces without a track id (photos) are ignored here."""
        self._span_s = (self._span_s[0] if self._span_s else time_s, time_s)
        for face in faces:
            if face.track_id is None:
                continue
            key = (self._segment, face.track_id)
            record = self._records.get(key)
            if record is None:
                record = self._records[key] = TrackRecord(face.track_id, time_s, time_s)
            record.add(time_s, face)
        self._updates += 1
        if self._updates % PRUNE_EVERY_UPDATES == 0:
            self._prune(time_s)

    def add_stills(self, faces: list[Face], time_s: float = 0.0, photo: str | None = None) -> None:
        """Photos are not tracked: every labelled face in a photo is one person of its own (`photo`: its name),
        numbered by the face's `track_id` when the caller gave one (headless runs do, so that results rows
        and people join on it), else in order."""
        for face in faces:
            if not face.is_classified:
                continue
            person_id = face.track_id if face.track_id is not None else self._still_ids + 1
            self._still_ids = max(self._still_ids, person_id)
            record = TrackRecord(person_id, time_s, time_s, still=True, photo=photo)
            record.add(time_s, face)
            self._records[(-1, person_id)] = record

    def new_segment(self) -> None:
        """Track ids restart from here (the analyzer was reset, e.g. a looped clip) within the same session."""
        self._segment += 1

    def record(self, track_id: int) -> TrackRecord | None:
        """The current segment's record of a track (for 'time in view' in the people panel)."""
        return self._records.get((self._segment, track_id))

    def people(self, ended: bool = False) -> list[TrackRecord]:
        """The tracks that count as people; `ended`: the stream is over, so a stream shorter than the
        floors (module docstring) counts every labelled track."""
        min_seen_s, min_frames = self.min_seen_s, self.min_frames
        if ended and self._span_s is not None and (
                self._updates < min_frames or self._span_s[1] - self._span_s[0] < min_seen_s):
            min_seen_s, min_frames = 0.0, 1
        return [r for r in self._records.values() if r.is_person(min_seen_s, min_frames)]

    def to_dict(self, ended: bool = False) -> dict:
        people = [r.result() for r in self.people(ended)]
        by_gender = {g: 0 for g in (*GENDERS, UNSURE)}
        by_age = {g: 0 for g in (*AGE_GROUPS, UNSURE)}
        for person in people:
            by_gender[person["gender"]] += 1
            by_age[person["age_group"]] += 1
        return {"people": len(people), "by_gender": by_gender, "by_age_group": by_age, "people_list": people}

    def _prune(self, now_s: float) -> None:
        stale = [k for k, r in self._records.items()
                 if now_s - r.last_s > PRUNE_AFTER_S and not r.is_person(self.min_seen_s, self.min_frames)]
        for key in stale:
            del self._records[key]


def summary_csv(summary: dict) -> str:
    """One row per person: the same fields as `people_list`, age probabilities as p_<group> columns."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=SUMMARY_CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for person in summary["people_list"]:
        row = {k: v for k, v in person.items() if k != "age_probs"}
        row.update({f"p_{g}": p for g, p in person["age_probs"].items()})
        writer.writerow(row)
    return out.getvalue()


def write_summary(summary: dict, path: str | Path) -> Path:
    """Write the summary as JSON (or CSV for a .csv name), atomically: temp file in the same folder, then
    rename, so an interrupted run never leaves half a file where a finished one was expected."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        text = summary_csv(summary)
    else:
        _check_finite(summary)
        text = json.dumps(summary, indent=2, allow_nan=False) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    # A fresh, exclusive name opened with mode 0666, so the user's umask applies as to every other output
    # (mkstemp's 0600 made the summary the one file others could not read).
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


SUMMARY_FORMATS = (".json", ".csv")   # write_summary: CSV for .csv, JSON otherwise


def check_summary_path(path: str | Path) -> Path:
    """Fail before a long run, not after it, when the summary cannot be written there.

    The writability test creates a scratch file (`core.cli.check_can_write`): `os.access` says
    yes to root in /sys or /proc, where the summary then failed after the whole run."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"Cannot write the summary to {path}: it is a folder; give a file name such as "
                          f"{path / 'people.json'}.")
    if path.suffix.lower() not in SUMMARY_FORMATS:
        raise OutputError(f"Cannot write the summary to {path}: give a name ending in "
                          f"{' or '.join(SUMMARY_FORMATS)} (JSON, or one row per person in CSV).")
    check_can_write(path, "summary")
    return path


def _check_finite(value) -> None:
    """JSON has no NaN or Infinity; fail loudly here rather than write a file strict parsers reject."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("summary contains a non-finite number")
    if isinstance(value, dict):
        for v in value.values():
            _check_finite(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _check_finite(v)
