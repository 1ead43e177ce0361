import numpy as np
import pytest

from core.labels import (AGE_GROUPS, age_to_soft, expected_age_years, hard_group, nearest_group,
                                   parse_adience_age, parse_gender, range_to_soft)


def test_eight_groups_in_adience_order():
    assert AGE_GROUPS == ("0-2", "4-6", "8-12", "15-20", "25-32", "38-43", "48-53", "60-100")


@pytest.mark.parametrize("age, group", [(0, 0), (2, 0), (5, 1), (12, 2), (15, 3), (30, 4), (40, 5), (50, 6), (60, 7), (116, 7)])
def test_ages_inside_groups_are_one_hot(age, group):
    soft = age_to_soft(age)
    assert soft[group] == 1.0 and soft.sum() == pytest.approx(1.0)
    assert hard_group(age) == group


@pytest.mark.parametrize("age, low, w_high", [(3, 0, 0.5), (7, 1, 0.5), (21, 3, 0.2), (24, 3, 0.8), (35, 4, 0.5), (57, 6, 4 / 7)])
def test_gap_ages_split_between_neighbours_by_distance(age, low, w_high):
    soft = age_to_soft(age)
    assert soft[low + 1] == pytest.approx(w_high)
    assert soft[low] == pytest.approx(1 - w_high)
    assert hard_group(age) is None


def test_nearest_group_resolves_gaps():
    assert nearest_group(21) == 3 and nearest_group(24) == 4


def test_range_to_soft_spreads_fairface_ranges():
    soft = range_to_soft(20, 29)
    assert soft.sum() == pytest.approx(1.0)
    assert soft[3] > 0 and soft[4] > 0 and soft[3] + soft[4] == pytest.approx(1.0)
    assert range_to_soft(0, 2)[0] == pytest.approx(1.0)


@pytest.mark.parametrize("text, group", [("(25, 32)", 4), ("(0, 2)", 0), ("(60, 100)", 7), ("35", None), ("(38, 42)", None)])
def test_parse_adience_age(text, group):
    soft = parse_adience_age(text)
    assert soft is not None and soft.sum() == pytest.approx(1.0)
    if group is not None:
        assert np.argmax(soft) == group and soft.max() == 1.0


@pytest.mark.parametrize("text", ["None", "", "  ", "(a, b)", "(40, 30)"])
def test_parse_adience_age_rejects_unusable(text):
    assert parse_adience_age(text) is None


def test_parse_gender():
    assert [parse_gender(t) for t in ("m", "f", "u", "", "Male", "Female", None)] == [0, 1, -1, -1, 0, 1, -1]


def test_expected_age_reads_the_distribution():
    assert expected_age_years(np.eye(8)[4]) == pytest.approx(28.5)
    assert 10 < expected_age_years(np.full(8, 1 / 8)) < 40
