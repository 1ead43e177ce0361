"""What the pipeline writes: annotated video recordings and per-face result tables (CSV or JSON lines).

Nothing here overwrites a file the user did not name: generated names (snapshots, recordings, photos
of a folder) get a `_1`, `_2`, ... suffix when the plain name is taken (`unique_path`).
"""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import cv2
import numpy as np

from core.errors import OutputError
from core.face import Face
from core.images import plausible_fps
from core.labels import AGE_GROUPS

RESULT_COLUMNS = ["frame", "time_s", "source", "track_id", "x1", "y1", "x2", "y2", "score",
                  "gender", "gender_prob", "age_group", *[f"p_{g}" for g in AGE_GROUPS], "label"]
RESULT_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
VIDEO_CODECS = {".mp4": "mp4v", ".avi": "MJPG"}


def unique_path(path: str | Path, taken=None) -> Path:
    """`path`, or `stem_1.ext`, `stem_2.ext`, ... : the first name that no file has yet, or, with `taken`
    (a test on a path), the first name it does not call taken."""
    path = Path(path)
    taken = taken or Path.exists
    candidate, n = path, 0
    while taken(candidate):
        n += 1
        candidate = path.with_name(f"{path.stem}_{n}{path.suffix}")
    return candidate


def make_parent(path: Path, what: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"Cannot create the folder for the {what} {path} ({exc.strerror}): "
                          f"choose a path in a folder you can write to.") from exc


class VideoRecorder:
    """Writes frames to an .mp4 (mp4v) or .avi (MJPG); the frame size is fixed by the first frame."""

    def __init__(self, path: str | Path, fps: float):
        self.path, self.fps = Path(path), plausible_fps(fps)
        if self.path.suffix.lower() not in VIDEO_CODECS:
            raise OutputError(f"Cannot record to {self.path.name}: use a name ending in .mp4 or .avi.")
        self._writer: cv2.VideoWriter | None = None
        self._size: tuple[int, int] | None = None
        self.frames_written = 0

    def write(self, frame_bgr: np.ndarray) -> None:
        if self._writer is None:
            self._size = (frame_bgr.shape[1], frame_bgr.shape[0])
            fourcc = cv2.VideoWriter_fourcc(*VIDEO_CODECS[self.path.suffix.lower()])
            make_parent(self.path, "video")
            self._writer = cv2.VideoWriter(str(self.path), fourcc, self.fps, self._size)
            if not self._writer.isOpened():
                self._writer = None
                raise OutputError(f"Cannot write video to {self.path}: use a .mp4 or .avi name in a writable folder.")
        if (frame_bgr.shape[1], frame_bgr.shape[0]) != self._size:
            frame_bgr = cv2.resize(frame_bgr, self._size)
        self._writer.write(frame_bgr)
        self.frames_written += 1

    def close(self) -> None:
        """Finish the file (an .mp4 is only playable once its index is written here)."""
        if self._writer is not None:
            self._writer.release()
            self._writer = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _finite_or_none(value):
    """NaN and infinities are not JSON: an unknown number becomes null (an empty CSV cell)."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


def face_row(frame_index: int, time_s: float, source: str, face: Face) -> dict:
    probs = face.age_probs if face.age_probs is not None else [None] * len(AGE_GROUPS)
    row = {"frame": frame_index, "time_s": round(time_s, 4), "source": source, "track_id": face.track_id,
           "x1": round(face.box[0], 1), "y1": round(face.box[1], 1), "x2": round(face.box[2], 1),
           "y2": round(face.box[3], 1), "score": round(face.score, 4), "gender": face.gender,
           "gender_prob": None if face.gender_prob is None else round(face.gender_prob, 4),
           "age_group": face.age_group}
    row.update({f"p_{g}": None if p is None else round(float(p), 4) for g, p in zip(AGE_GROUPS, probs)})
    row["label"] = face.label()  # what the tag shows: "?" parts, "too small" / "too dark" markers
    return {key: _finite_or_none(value) for key, value in row.items()}


def results_format(path: str | Path) -> str:
    """'csv' or 'jsonl' from the suffix; anything else is refused rather than silently written as CSV."""
    fmt = RESULT_FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise OutputError(f"Cannot tell the results format from {Path(path).name}: "
                          f"name the file .csv or .jsonl.")
    return fmt


class ResultsWriter:
    """One row per face per frame; the format follows the suffix (.csv, or .jsonl / .ndjson for JSON lines).

    Rows are written whole and the file is flushed after every frame, so a run stopped at any point
    leaves a table that parses. The file is made at the first frame, as `VideoRecorder` makes its video:
    a run that analyses no frame leaves no file (and no header-only table that looks like "no faces").
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._jsonl = results_format(self.path) == "jsonl"
        self._file = None
        self._csv = None
        self.frames_written = 0
        self.rows_written = 0
        self._write_failed = False

    def _open(self) -> None:
        make_parent(self.path, "results file")
        try:
            self._file = open(self.path, "w", newline="", encoding="utf-8")
        except OSError as exc:
            raise OutputError(f"Cannot write the results file {self.path} ({exc.strerror}): "
                              f"choose a path in a folder you can write to.") from exc
        if not self._jsonl:
            self._csv = csv.DictWriter(self._file, fieldnames=RESULT_COLUMNS)
            self._csv.writeheader()

    def write(self, frame_index: int, time_s: float, source: str, faces: list[Face]) -> None:
        if self._file is None:
            self._open()
        lines = []
        for face in faces:
            row = face_row(frame_index, time_s, source, face)
            lines.append(json.dumps(row, allow_nan=False) if self._jsonl else row)
        try:
            if self._jsonl:
                self._file.write("".join(line + "\n" for line in lines))
            else:
                self._csv.writerows(lines)
            self._file.flush()
        except OSError as exc:  # a full disk, a removed drive: name the file, not just the errno
            self._write_failed = True
            raise OutputError(f"Cannot write the results file {self.path} ({exc.strerror or exc}): free some "
                              f"space or choose another disk; the rows written before are kept.") from None
        self.rows_written += len(lines)
        self.frames_written += 1

    def close(self) -> None:
        if self._file is None:
            return
        try:
            self._file.close()
        except OSError:
            if not self._write_failed:  # else it is the failed flush again, already reported by `write`
                raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
