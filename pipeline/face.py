"""`Face`: the one record that flows from detection to cropping, classification, tracking and drawing."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from classification.labels import AGE_GROUPS, expected_age_years

Box = tuple[float, float, float, float]


@dataclass
class Face:
    """One face in one frame. Classification fields stay None until the classifier has seen the face."""

    box: Box                               # (x1, y1, x2, y2) in frame pixels
    score: float                           # detector confidence, 0..1
    track_id: int | None = None            # stable across frames in `FaceAnalyzer.track`, else None
    gender: str | None = None              # "male" / "female"
    gender_prob: float | None = None       # probability of `gender`
    age_probs: np.ndarray | None = field(default=None, repr=False)  # 8 floats in AGE_GROUPS order

    @property
    def age_group(self) -> str | None:
        return None if self.age_probs is None else AGE_GROUPS[int(np.argmax(self.age_probs))]

    @property
    def age_group_prob(self) -> float | None:
        return None if self.age_probs is None else float(np.max(self.age_probs))

    @property
    def apparent_age_years(self) -> float | None:
        """Expected age read from the group distribution (a smooth extra, not a measured age)."""
        return None if self.age_probs is None else expected_age_years(self.age_probs)

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    @property
    def is_classified(self) -> bool:
        return self.gender is not None and self.age_probs is not None

    def label(self) -> str:
        """Short overlay text, e.g. 'Female | 25-32 | 87%' (the percentage is the age group's probability)."""
        if not self.is_classified:
            return "face"
        return f"{self.gender.capitalize()} | {self.age_group} | {self.age_group_prob:.0%}"

    def with_classification(self, gender: str, gender_prob: float, age_probs) -> "Face":
        return replace(self, gender=gender, gender_prob=float(gender_prob),
                       age_probs=np.asarray(age_probs, dtype=np.float32))
