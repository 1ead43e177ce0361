"""Age-group and gender label design shared by training, evaluation and the app.

The eight Adience groups leave gaps (3, 7, 13-14, 21-24, ...). Rather than snapping an exact age to the
nearest group, an age in a gap becomes a *soft* target split between its two neighbours in proportion to
its distance from each, so the model learns that a 22-year-old sits between 15-20 and 25-32. FairFace's
ranges (3-9, 20-29, ...) straddle Adience groups; each range becomes the mean soft target of the ages it
covers, assuming ages are uniform inside the annotated range.
"""
from __future__ import annotations

import re

import numpy as np

AGE_GROUPS: tuple[str, ...] = ("0-2", "4-6", "8-12", "15-20", "25-32", "38-43", "48-53", "60-100")
AGE_GROUP_BOUNDS_YEARS: tuple[tuple[int, int], ...] = (
    (0, 2), (4, 6), (8, 12), (15, 20), (25, 32), (38, 43), (48, 53), (60, 100),
)
# The training sources (`FaceSample.source` of `facedata.datasets`' readers) as people know them: for
# tables and the About box, which reads them from the metrics files.
SOURCE_NAMES = {"utkface": "UTKFace", "fairface": "FairFace", "aaf": "All-Age-Faces"}
# Representative age of each group, used to read an expected apparent age from the distribution.
AGE_GROUP_MIDPOINTS_YEARS = np.array([1.0, 5.0, 10.0, 17.5, 28.5, 40.5, 50.5, 70.0], dtype=np.float32)
GENDERS: tuple[str, ...] = ("male", "female")
GENDER_UNKNOWN = -1
NUM_AGE_GROUPS = len(AGE_GROUPS)


def age_to_soft(age_years: float) -> np.ndarray:
    """Soft 8-way target for an exact age: one-hot inside a group, split linearly across a gap."""
    target = np.zeros(NUM_AGE_GROUPS, dtype=np.float32)
    age = float(age_years)
    for k, (lo, hi) in enumerate(AGE_GROUP_BOUNDS_YEARS):
        if age <= hi + 0.5 and (k == 0 or age >= lo - 0.5):
            target[k] = 1.0
            return target
        if k + 1 < NUM_AGE_GROUPS:
            next_lo = AGE_GROUP_BOUNDS_YEARS[k + 1][0]
            if hi + 0.5 < age < next_lo - 0.5:
                w_next = (age - hi) / (next_lo - hi)
                target[k], target[k + 1] = 1.0 - w_next, w_next
                return target
    target[-1] = 1.0  # older than 100
    return target


def range_to_soft(lo_years: int, hi_years: int) -> np.ndarray:
    """Soft target for an annotated age range, assuming every whole age in it is equally likely."""
    ages = np.arange(int(lo_years), int(hi_years) + 1)
    return np.mean([age_to_soft(a) for a in ages], axis=0).astype(np.float32)


def hard_group(age_years: float) -> int | None:
    """Index of the Adience group that contains this exact age, or None for an age in a gap."""
    soft = age_to_soft(age_years)
    return int(np.argmax(soft)) if soft.max() == 1.0 else None


def nearest_group(age_years: float) -> int:
    """Index of the Adience group closest to this age (gaps resolved to the nearer neighbour)."""
    return int(np.argmax(age_to_soft(age_years)))


_ADIENCE_PAIR = re.compile(r"^\(\s*(\d+)\s*,\s*(\d+)\s*\)$")


def parse_adience_age(text: str) -> np.ndarray | None:
    """Soft target for an Adience age string: '(25, 32)', a bare '35', an off-grid '(38, 42)'; None if unusable."""
    text = (text or "").strip()
    if not text or text.lower() == "none":
        return None
    match = _ADIENCE_PAIR.match(text)
    if match:
        lo, hi = int(match.group(1)), int(match.group(2))
        if (lo, hi) in AGE_GROUP_BOUNDS_YEARS:
            return np.eye(NUM_AGE_GROUPS, dtype=np.float32)[AGE_GROUP_BOUNDS_YEARS.index((lo, hi))]
        if lo > hi:
            return None
        return range_to_soft(lo, hi)
    if text.isdigit():
        return age_to_soft(int(text))
    return None


def parse_gender(text: str) -> int:
    """0 male, 1 female, GENDER_UNKNOWN for anything else ('u', blank, None)."""
    t = (text or "").strip().lower()
    if t in ("m", "male", "0"):
        return 0
    if t in ("f", "female", "1"):
        return 1
    return GENDER_UNKNOWN


def female_prob(gender: str, gender_prob: float) -> float:
    """P(female) from a gender answer and the probability of that answer."""
    return float(gender_prob) if gender == "female" else 1.0 - float(gender_prob)


def expected_age_years(age_probs: np.ndarray) -> float:
    """Apparent age read from the group distribution: the probability-weighted mean of group midpoints."""
    probs = np.asarray(age_probs, dtype=np.float32)
    return float(probs @ AGE_GROUP_MIDPOINTS_YEARS / max(probs.sum(), 1e-6))
