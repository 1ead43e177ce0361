"""`core.face`: the honest-label thresholds the screen, the tracker and the summary share."""
from __future__ import annotations

import numpy as np
import pytest

from core.face import (GENDER_MIN_PROB, GENDER_MIN_PROB_YOUNG, Face, gender_is_unsure, gender_min_prob,
                       looks_young)

ADULT = np.eye(8, dtype=np.float32)[4]   # 25-32
CHILD = np.eye(8, dtype=np.float32)[2]   # 8-12


def test_young_looking_faces_need_a_surer_gender():
    between = (GENDER_MIN_PROB + GENDER_MIN_PROB_YOUNG) / 2
    assert GENDER_MIN_PROB < GENDER_MIN_PROB_YOUNG
    assert gender_min_prob(ADULT) == GENDER_MIN_PROB and gender_min_prob(CHILD) == GENDER_MIN_PROB_YOUNG
    assert not gender_is_unsure(between, ADULT) and gender_is_unsure(between, CHILD)
    assert not Face((0, 0, 50, 50), 0.9).with_classification("female", between, ADULT).gender_unsure
    assert Face((0, 0, 50, 50), 0.9).with_classification("female", between, CHILD).label().startswith("? |")


def test_looks_young_means_twenty_or_younger_more_likely_than_not():
    assert looks_young(np.eye(8)[3]) and not looks_young(np.eye(8)[4])   # 15-20 / 25-32
    assert not looks_young(np.array([0, 0, 0, 0.49, 0.51, 0, 0, 0]))
    assert looks_young(np.array([0, 0, 0.02, 0.49, 0.49, 0, 0, 0]))


def test_female_prob_reads_the_same_from_either_gender_answer():
    from core.protocols import AgeGender
    ages = np.full(8, 1 / 8)
    assert Face((0, 0, 10, 10), 0.9).female_prob is None
    assert Face((0, 0, 10, 10), 0.9).with_classification("male", 0.8, ages).female_prob == pytest.approx(0.2)
    assert AgeGender("female", 0.7, ages).female_prob == pytest.approx(0.7)
