"""`bench.label_thresholds`: the darkness test is checked against lit faces of every annotated race."""
from __future__ import annotations

import cv2
import numpy as np

from bench import label_thresholds
from facedata.datasets import FaceSample


def _face(path, grey, subject):
    cv2.imwrite(str(path), np.full((100, 100, 3), grey, np.uint8))
    return FaceSample(str(path), None, 0.6, np.full(8, 0.125), 1, "fairface", subject=subject)


def test_too_dark_by_race_counts_each_limit_per_race(tmp_path):
    csv_path = tmp_path / "labels.csv"
    csv_path.write_text("file,age,gender,race\ntrain/1.jpg,20-29,Female,Black\ntrain/2.jpg,20-29,Male,Black\n"
                        "train/3.jpg,20-29,Male,White\n")
    faces = [_face(tmp_path / "1.jpg", 55, "train/1.jpg"), _face(tmp_path / "2.jpg", 200, "train/2.jpg"),
             _face(tmp_path / "3.jpg", 45, "train/3.jpg")]
    result = label_thresholds.too_dark_by_race(csv_path, faces, limits=(50, 60))
    assert result["Black"]["faces"] == 2 and result["Black"]["marked_at"] == {"50": 0.0, "60": 0.5}
    assert result["White"]["marked_at"] == {"50": 1.0, "60": 1.0} and result["White"]["marked_too_dark"] == 1.0
    assert label_thresholds.too_dark_by_race(None, faces) == {}
