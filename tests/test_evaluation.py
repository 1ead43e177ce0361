"""The metric code behind the reported numbers: AP with ignore regions, accuracy and 1-off accuracy."""
import numpy as np
import pytest

from classification.evaluate import age_metrics, overlaps_range
from detection.evaluate import at_confidence, average_precision, match_image

GT = np.array([[0, 0, 50, 50], [100, 100, 110, 110]], float)  # a 50 px face and a 10 px face


def _match(dets, scores, min_px):
    dets = np.array(dets, float).reshape(-1, 4)
    longs = np.maximum(dets[:, 2] - dets[:, 0], dets[:, 3] - dets[:, 1]) if len(dets) else np.zeros(0)
    gt_long = np.maximum(GT[:, 2] - GT[:, 0], GT[:, 3] - GT[:, 1])
    return match_image(dets, np.array(scores, float), GT, gt_long < min_px, longs < min_px)


def test_perfect_detections_give_ap_one():
    labels, scores = _match(GT, [0.9, 0.8], 0)
    ap, *_ = average_precision(labels, scores, 2)
    assert list(labels) == [1, 1] and ap == pytest.approx(1.0)


def test_small_faces_are_ignore_regions():
    labels, scores = _match(GT, [0.9, 0.8], 20)
    assert list(labels) == [1, -1]  # the hit on the 10 px face is neither right nor wrong
    ap, *_ = average_precision(labels, scores, 1)
    assert ap == pytest.approx(1.0)


def test_false_positive_ranked_first_halves_precision():
    labels, scores = _match([[300, 300, 360, 360], [0, 0, 50, 50]], [0.95, 0.5], 20)
    assert list(labels) == [0, 1]
    ap, *_ = average_precision(labels, scores, 1)
    assert ap == pytest.approx(0.5)
    assert at_confidence(labels, scores, 1, 0.6) == (0.0, 0.0)
    assert at_confidence(labels, scores, 1, 0.4) == (1.0, 0.5)


def test_duplicate_detection_is_a_false_positive():
    labels, _ = _match([[0, 0, 50, 50], [1, 1, 51, 51]], [0.9, 0.8], 20)
    assert list(labels) == [1, 0]


def test_age_metrics_exact_and_one_off():
    m = age_metrics(np.array([0, 4, 4, 7]), np.array([0, 5, 2, 7]))
    assert m["exact_acc"] == 0.5 and m["one_off_acc"] == 0.75
    assert m["per_group_recall"]["25-32"] == 0.0 and m["per_group_recall"]["0-2"] == 1.0


def test_fairface_range_overlap():
    assert overlaps_range(3, (20, 29)) and overlaps_range(4, (20, 29)) and not overlaps_range(5, (20, 29))
