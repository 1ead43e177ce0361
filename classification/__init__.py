"""Age-group and gender classification: `AgeGenderClassifier(weights=None).predict(crops) -> [AgeGender]`."""
from classification.classifier import AgeGender, AgeGenderClassifier
from core.labels import AGE_GROUPS, GENDERS

__all__ = ["AGE_GROUPS", "GENDERS", "AgeGender", "AgeGenderClassifier"]
