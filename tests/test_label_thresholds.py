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


def _utk(gender, age_years):
    return FaceSample("x.jpg", None, 0.6, np.full(8, 0.125), gender, "utkface", age_years=age_years)


def test_young_looking_faces_are_held_to_their_own_gender_threshold():
    # a confident wrong child read as young, a less sure right child read as young, a sure right adult
    samples = [_utk(0, 5), _utk(1, 9), _utk(1, 30)]
    female = np.array([0.93, 0.97, 0.9])
    ages = np.eye(8)[[1, 2, 4]]
    strict = {row["young_threshold"]: row for row in label_thresholds.young_gender_table(female, ages, samples, 0.85)}
    assert set(strict) == {t for t in label_thresholds.YOUNG_GENDER_THRESHOLDS if t >= 0.85}
    assert strict[0.85]["children"]["answered_faces"] == 2 and strict[0.85]["children"]["acc_answered"] == 0.5
    assert strict[0.95]["children"]["answered_faces"] == 1 and strict[0.95]["children"]["acc_answered"] == 1.0
    assert strict[0.99]["children"]["answered_faces"] == 0 and strict[0.99]["children"]["acc_answered"] is None
    assert all(row["adults"]["answered_faces"] == 1 for row in strict.values())  # adults keep 0.85
    assert strict[0.95]["looks_young"] == 2 / 3
