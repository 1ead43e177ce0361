"""What the pipeline writes: annotated video recordings and per-face result tables (CSV or JSON lines)."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np

from classification.labels import AGE_GROUPS
from pipeline.errors import SourceError
from pipeline.face import Face

RESULT_COLUMNS = ["frame", "time_s", "source", "track_id", "x1", "y1", "x2", "y2", "score",
                  "gender", "gender_prob", "age_group", *[f"p_{g}" for g in AGE_GROUPS], "label"]


class VideoRecorder:
    """Writes frames to an .mp4 (mp4v) or .avi (MJPG); the frame size is fixed by the first frame."""

    def __init__(self, path: str | Path, fps: float):
        self.path, self.fps = Path(path), float(fps) if fps and fps > 0 else 25.0
        self._writer: cv2.VideoWriter | None = None
        self._size: tuple[int, int] | None = None
        self.frames_written = 0

    def write(self, frame_bgr: np.ndarray) -> None:
        if self._writer is None:
            self._size = (frame_bgr.shape[1], frame_bgr.shape[0])
            fourcc = cv2.VideoWriter_fourcc(*("MJPG" if self.path.suffix.lower() == ".avi" else "mp4v"))
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = cv2.VideoWriter(str(self.path), fourcc, self.fps, self._size)
            if not self._writer.isOpened():
                self._writer = None
                raise SourceError(f"Cannot write video to {self.path}: use a .mp4 or .avi name in a writable folder.")
        if (frame_bgr.shape[1], frame_bgr.shape[0]) != self._size:
            frame_bgr = cv2.resize(frame_bgr, self._size)
        self._writer.write(frame_bgr)
        self.frames_written += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def face_row(frame_index: int, time_s: float, source: str, face: Face) -> dict:
    probs = face.age_probs if face.age_probs is not None else [float("nan")] * len(AGE_GROUPS)
    row = {"frame": frame_index, "time_s": round(time_s, 4), "source": source, "track_id": face.track_id,
           "x1": round(face.box[0], 1), "y1": round(face.box[1], 1), "x2": round(face.box[2], 1),
           "y2": round(face.box[3], 1), "score": round(face.score, 4), "gender": face.gender,
           "gender_prob": None if face.gender_prob is None else round(face.gender_prob, 4),
           "age_group": face.age_group}
    row.update({f"p_{g}": round(float(p), 4) for g, p in zip(AGE_GROUPS, probs)})
    row["label"] = face.label()  # what the tag shows: "?" parts, "too small" / "too dark" markers
    return row


class ResultsWriter:
    """One row per face per frame; the format follows the suffix (.csv, or .jsonl / .json for JSON lines)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._jsonl = self.path.suffix.lower() in (".jsonl", ".json", ".ndjson")
        self._file = open(self.path, "w", newline="", encoding="utf-8")
        self._csv = None if self._jsonl else csv.DictWriter(self._file, fieldnames=RESULT_COLUMNS)
        if self._csv:
            self._csv.writeheader()
        self.rows_written = 0

    def write(self, frame_index: int, time_s: float, source: str, faces: list[Face]) -> None:
        for face in faces:
            row = face_row(frame_index, time_s, source, face)
            if self._jsonl:
                self._file.write(json.dumps(row) + "\n")
            else:
                self._csv.writerow(row)
            self.rows_written += 1

    def close(self) -> None:
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
