"""Readers for the three face-label layouts the classifier trains and evaluates on.

Each reader returns `FaceSample`s: an image path, where the face is in that image, a soft 8-way age
target (see `labels`), the gender (or unknown) and, where the dataset has it, the exact age.
"""
from __future__ import annotations

import csv
import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from classification.labels import GENDER_UNKNOWN, age_to_soft, parse_adience_age, parse_gender, range_to_soft

# UTKFace "aligned & cropped" chips are 200x200; the face (brows to chin, ear to ear) fills about the
# central 70%, measured by eye on a sample and matching dlib's chip padding.
UTKFACE_FACE_FRACTION = 0.70
# FairFace chips are dlib face chips with padding 0.25: the face box is the central 1 / (1 + 2 * 0.25).
FAIRFACE_FACE_FRACTION = 1.0 / 1.5
FAIRFACE_RANGES_YEARS = {
    "0-2": (0, 2), "3-9": (3, 9), "10-19": (10, 19), "20-29": (20, 29), "30-39": (30, 39),
    "40-49": (40, 49), "50-59": (50, 59), "60-69": (60, 69), "more than 70": (70, 90),
}


@dataclass(frozen=True)
class FaceSample:
    path: str
    box: tuple[float, float, float, float] | None  # face box in the image; None = central chip fraction
    face_fraction: float                            # used when box is None
    age_soft: np.ndarray                            # 8 floats summing to 1
    gender: int                                     # 0 male, 1 female, -1 unknown
    source: str
    age_years: float = math.nan                     # exact age where known (UTKFace)
    age_range_years: tuple[int, int] | None = None  # annotated range where given (FairFace)
    subject: str = ""                               # keeps one person's faces in one split


def split_of(key: str, test_percent: int = 10) -> str:
    """Deterministic 'train'/'test' assignment from a stable hash, so the held-out set never moves."""
    bucket = int(hashlib.sha1(key.encode("utf-8")).hexdigest()[:8], 16) % 100
    return "test" if bucket < test_percent else "train"


def read_utkface(root: str | Path) -> list[FaceSample]:
    """UTKFace: `<age>_<gender>_<race>_<datetime>.jpg.chip.jpg`; only the first two fields are trusted."""
    root = Path(root)
    folder = root / "UTKFace" if (root / "UTKFace").is_dir() else root
    samples = []
    for path in sorted(folder.glob("*.jpg")):
        parts = path.name.split("_")
        try:
            age, gender = int(parts[0]), int(parts[1])
        except (ValueError, IndexError):
            continue
        if gender not in (0, 1) or not 0 <= age <= 120:
            continue
        samples.append(FaceSample(str(path), None, UTKFACE_FACE_FRACTION, age_to_soft(age), gender,
                                  "utkface", age_years=float(age), subject=path.name))
    return samples


def read_fairface(root: str | Path, csv_name: str = "fairface_label_train.csv") -> list[FaceSample]:
    """FairFace: CSV `file,age,gender,...`, ages as 9 annotated ranges mapped to soft Adience targets."""
    root = Path(root)
    samples = []
    with open(root / csv_name, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            age_range = FAIRFACE_RANGES_YEARS.get((row.get("age") or "").strip())
            path = root / row["file"]
            if age_range is None or not path.is_file():
                continue
            samples.append(FaceSample(str(path), None, FAIRFACE_FACE_FRACTION, range_to_soft(*age_range),
                                      parse_gender(row.get("gender", "")), "fairface",
                                      age_range_years=age_range, subject=row["file"]))
    return samples


def adience_image_path(root: Path, user_id: str, face_id: str, original: str) -> Path | None:
    """The image of one Adience row in either released layout, or None if neither file exists."""
    for folder, prefix in (("faces", "coarse_tilt_aligned_face"), ("aligned", "landmark_aligned_face")):
        path = root / folder / user_id / f"{prefix}.{face_id}.{original}"
        if path.is_file():
            return path
    return None


def read_adience(root: str | Path, folds: tuple[int, ...] = (0, 1, 2, 3, 4)) -> list[FaceSample]:
    """Adience: tab-separated `fold_N_data.txt` plus aligned face images; rows with unusable ages dropped.

    The aligned images are already face crops, so the whole image is the face box (fraction 1.0).
    `subject` is the Flickr user id: the benchmark's folds are subject-exclusive.
    """
    root = Path(root)
    samples = []
    for fold in folds:
        label_file = root / f"fold_{fold}_data.txt"
        if not label_file.is_file():
            continue
        with open(label_file, newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                soft = parse_adience_age(row.get("age", ""))
                path = adience_image_path(root, row.get("user_id", ""), row.get("face_id", ""),
                                          row.get("original_image", ""))
                if soft is None or path is None:
                    continue
                samples.append(FaceSample(str(path), None, 1.0, soft, parse_gender(row.get("gender", "")),
                                          f"adience_fold{fold}", subject=row.get("user_id", "")))
    return samples


def has_known_gender(sample: FaceSample) -> bool:
    return sample.gender != GENDER_UNKNOWN
