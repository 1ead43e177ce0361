"""What the pipeline needs from a face detector and an age/gender classifier, as small Protocols.

`pipeline.FaceAnalyzer` composes any two objects that fit: the shipped models (`detection.FaceDetector`,
`classification.AgeGenderClassifier`), the tests' scripted fakes, or a replay of recorded detections in a
benchmark. No `hasattr` probing: an object either has these members or is not a detector/classifier.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from core.face import Face
from core.labels import AGE_GROUPS, GENDERS, female_prob


@dataclass(frozen=True)
class AgeGender:
    gender: str             # "male" or "female"
    gender_prob: float      # probability of `gender`
    age_probs: np.ndarray   # 8 floats summing to 1, AGE_GROUPS order

    @property
    def age_group(self) -> str:
        return AGE_GROUPS[int(np.argmax(self.age_probs))]

    @property
    def female_prob(self) -> float:
        return female_prob(self.gender, self.gender_prob)

    @classmethod
    def from_probs(cls, gender_probs: np.ndarray, age_probs: np.ndarray) -> "AgeGender":
        g = int(np.argmax(gender_probs))
        age = np.asarray(age_probs, np.float64)
        age = (age / max(age.sum(), 1e-9)).astype(np.float32)
        return cls(GENDERS[g], float(gender_probs[g] / max(float(np.sum(gender_probs)), 1e-9)), age)


@runtime_checkable
class Detector(Protocol):
    """Finds faces: `detect(frame_bgr)` returns unclassified `Face`s, best first."""

    confidence: float   # minimum score returned; the analyzer sets it when the user moves the slider

    def detect(self, frame_bgr: np.ndarray) -> list[Face]: ...


@runtime_checkable
class Classifier(Protocol):
    """Labels square face crops: one `AgeGender` per crop, in order."""

    input_size_px: int | None   # side the crops are resized to before `predict` (None: any size)

    def predict(self, crops_bgr: list[np.ndarray]) -> list[AgeGender]: ...
