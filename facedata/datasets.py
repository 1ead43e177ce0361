"""Readers for the face-label layouts both models' training tools read (the classifier's cache and
evaluation, the detector's composites and held-out sets), and the fixed split they share.

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

from core.errors import SourceError
from core.labels import age_to_soft, parse_adience_age, parse_gender, range_to_soft
# Where the datasets live (core.paths): the shared, read-only folder beside the project, and the
# git-ignored folder that ../shared/datasets/MORE_DATA.md's fetch commands extract into.
from core.paths import DATASETS_DIR, EXTRA_DATA_DIR

# UTKFace "aligned & cropped" chips are 200x200; the face (brows to chin, ear to ear) fills about the
# central 70%, measured by eye on a sample and matching dlib's chip padding.
UTKFACE_FACE_FRACTION = 0.70
# FairFace chips are dlib face chips with padding 0.25: the face box is the central 1 / (1 + 2 * 0.25).
FAIRFACE_FACE_FRACTION = 1.0 / 1.5
# All-Age-Faces originals without usable key points: the face is taken as a central square of this share
# of the shorter side (classification.cache prefers the detector's box to it, and says how often)
AAF_FACE_FRACTION = 0.55
FAIRFACE_RANGES_YEARS = {
    "0-2": (0, 2), "3-9": (3, 9), "10-19": (10, 19), "20-29": (20, 29), "30-39": (30, 39),
    "40-49": (40, 49), "50-59": (50, 59), "60-69": (60, 69), "more than 70": (70, 90),
}
# The fetched FairFace CSV was opened in Excel once: '3-9' became a date, '03-Sep', and '10-19' 'Oct-19'.
FAIRFACE_EXCEL_DAMAGE = {"03-Sep": "3-9", "Oct-19": "10-19"}
# All-Age-Faces: `NNNNNAyy.jpg`, ids 00000-07380 are female and 07381-13321 male (the dataset's README).
AAF_FIRST_MALE_ID = 7381
AAF_FOLDER = "All-Age-Faces Dataset"


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


def split_of(key: str, test_percent: int) -> str:
    """Deterministic 'train'/'test' assignment from a stable hash, so the held-out set never moves."""
    bucket = int(hashlib.sha1(key.encode("utf-8")).hexdigest()[:8], 16) % 100
    return "test" if bucket < test_percent else "train"


# the held-out shares of every source: TEST_PERCENT of subjects, then VAL_PERCENT_OF_REST of the others
# (6% of 90%: 5.4% of all). Changing either moves faces between training and the held-out splits.
TEST_PERCENT = 10
VAL_PERCENT_OF_REST = 6
HELD_OUT_SPLITS = {"test": f"{TEST_PERCENT}%",
                   "val": f"{VAL_PERCENT_OF_REST * (100 - TEST_PERCENT) / 100:.1f}%"}   # the splits and their shares


def split_name(sample: FaceSample) -> str:
    """'test', 'val' or 'train' (HELD_OUT_SPLITS' shares), fixed by a hash of the subject key and the source."""
    key = f"{sample.source}:{sample.subject}"
    if split_of(key, TEST_PERCENT) == "test":
        return "test"
    return "val" if split_of("val:" + key, VAL_PERCENT_OF_REST) == "test" else "train"


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


def sha1_of_file(path: str | Path) -> str:
    return hashlib.sha1(Path(path).read_bytes()).hexdigest()


def read_fairface(root: str | Path, csv_name: str = "fairface_label_train.csv", image_dir: str = "",
                  reserved_sha1: frozenset[str] = frozenset()) -> list[FaceSample]:
    """FairFace: CSV `file,age,gender,...`, ages as 9 annotated ranges mapped to soft Adience targets.

    `image_dir` is a folder between `root` and the CSV's `file` column where the fetched copy keeps its
    images one level down (`fair_face/train/1.jpg` for `train/1.jpg`); `subject` stays the CSV's name, so
    a face has the same split whichever copy it is read from. Files whose sha1 is in `reserved_sha1`
    (byte copies of FairFace validation images) are skipped.
    """
    root = Path(root)
    samples = []
    with open(root / csv_name, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            age_text = (row.get("age") or "").strip()
            age_range = FAIRFACE_RANGES_YEARS.get(FAIRFACE_EXCEL_DAMAGE.get(age_text, age_text))
            path = root / image_dir / row["file"]
            if age_range is None or not path.is_file():
                continue
            if reserved_sha1 and sha1_of_file(path) in reserved_sha1:
                continue
            samples.append(FaceSample(str(path), None, FAIRFACE_FACE_FRACTION, range_to_soft(*age_range),
                                      parse_gender(row.get("gender", "")), "fairface",
                                      age_range_years=age_range, subject=row["file"]))
    return samples


def read_aaf(root: str | Path, excluded_names: frozenset[str] = frozenset()) -> list[FaceSample]:
    """All-Age-Faces `original images/NNNNNAyy.jpg` (a loose crop with real background), age yy, gender by id.

    The face box where the detector finds none is derived from the 49 landmarks in `key points/`
    (brows, eyes, nose, mouth), widened to cover forehead and chin. `subject` is the person id.
    """
    root = Path(root)
    base = root / AAF_FOLDER if (root / AAF_FOLDER).is_dir() else root
    samples = []
    for path in sorted((base / "original images").glob("*.jpg")):
        name = path.name
        if name in excluded_names or len(name) < 9 or name[5] != "A":
            continue
        try:
            person, age = int(name[:5]), int(name[6:-4])
        except ValueError:
            continue
        samples.append(FaceSample(str(path), landmark_box(base / "key points" / f"{path.stem}.txt"), AAF_FACE_FRACTION,
                                  age_to_soft(age), 0 if person >= AAF_FIRST_MALE_ID else 1, "aaf",
                                  age_years=float(age), subject=f"{person:05d}"))
    return samples


def landmark_box(points_file: Path) -> tuple[float, float, float, float] | None:
    """A face box from inner-face landmarks: their bounding square, 1.45x wide, shifted up for the forehead."""
    try:
        points = np.loadtxt(points_file, dtype=np.float64).reshape(-1, 2)
    except (OSError, ValueError):
        return None
    if len(points) < 5:
        return None
    (x1, y1), (x2, y2) = points.min(axis=0), points.max(axis=0)
    side = max(x2 - x1, y2 - y1) * 1.45
    cx, cy = (x1 + x2) / 2.0, (y1 + y2) / 2.0 - 0.08 * side
    return (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)


def read_lines(path: Path) -> frozenset[str]:
    """Non-empty stripped lines of a text file, or an empty set if it is missing."""
    if not path.is_file():
        return frozenset()
    return frozenset(line.strip() for line in path.read_text().splitlines() if line.strip())


def read_training_sources(datasets_root: str | Path = DATASETS_DIR,
                          extra_root: str | Path = EXTRA_DATA_DIR) -> list[FaceSample]:
    """Every face the classifier may train on, each source once, with its exclusion lists applied.

    UTKFace from the shared folder; FairFace's 40,000 fetched train images when `extra_root/fairface`
    holds them (the shared 7,000 are a sample of the same files), else the shared sample; All-Age-Faces
    when fetched. Validation splits of the public benchmarks are never read here.

    SourceError when `datasets_root` is missing: it also holds the exclusion lists (FairFace's reserved
    validation duplicates), so reading the fetched data without it would let held-out faces into training.
    """
    datasets_root, extra_root = Path(datasets_root), Path(extra_root)
    if not datasets_root.is_dir():
        raise SourceError(f"no dataset folder at {datasets_root}: pass --datasets with the folder holding "
                          f"utkface/, fairface/ and the exclusion lists (../shared/datasets, see its README)")
    samples = read_utkface(datasets_root / "utkface") if (datasets_root / "utkface").is_dir() else []
    fetched_fairface = extra_root / "fairface"
    if (fetched_fairface / "fairface_label_train.csv").is_file():
        samples += read_fairface(fetched_fairface, image_dir="fair_face",
                                 reserved_sha1=read_lines(datasets_root / "reserved_sha1.txt"))
    elif (datasets_root / "fairface").is_dir():
        samples += read_fairface(datasets_root / "fairface")
    if (extra_root / "aaf").is_dir():
        samples += read_aaf(extra_root / "aaf", read_lines(datasets_root / "aaf_duplicate_images.txt"))
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


