import numpy as np
import pytest

from core.face import TOO_DARK, Face
from pipeline.annotate import BoxAnnotator, FaceAnnotator, LabelAnnotator, _overlaps, layout_tags


def classified(box):
    return Face(box, 0.9, 3).with_classification("female", 0.87, np.eye(8)[4] * 0.87 + 0.13 / 8)


def test_label_text_gives_each_part_its_own_probability():
    face = Face((0, 0, 10, 10), 0.9).with_classification("female", 0.93, np.eye(8)[4] * 0.88 + 0.12 / 8)
    assert face.label() == "F 93% | 25-32 89%"
    unsure = Face((0, 0, 10, 10), 0.9).with_classification("male", 0.55, np.eye(8)[1] * 0.3 + 0.7 / 8)
    assert unsure.label() == "? | ?"  # both below their thresholds: no guess shown
    assert unsure.shown_gender is None and unsure.gender == "male"  # the guess stays in the data
    assert Face((0, 0, 1, 1), 0.5).label() == "face"
    assert Face((0, 0, 1, 1), 0.5, unjudgeable=TOO_DARK).label() == "too dark"


def _rects(boxes, size=(90, 16), frame=(640, 480)):
    places = layout_tags(boxes, [[size, (72, 13), (58, 11)]] * len(boxes), frame)
    return [p[0] for p in places if p is not None], places


def test_tags_of_overlapping_faces_never_overlap():
    rng = np.random.default_rng(0)
    for trial in range(50):
        n = int(rng.integers(2, 12))
        x, y = rng.uniform(0, 560, n), rng.uniform(0, 420, n)
        side = rng.uniform(20, 90, n)
        boxes = [(a, b, a + s, b + s) for a, b, s in zip(x, y, side)]
        rects, places = _rects(boxes)
        assert len(rects) == n, trial  # room enough on a 640x480 frame: every tag placed
        for i, a in enumerate(rects):
            assert 0 <= a[0] and a[2] <= 640 and 0 <= a[1] and a[3] <= 480
            assert not any(_overlaps(a, b) for b in rects[i + 1:]), trial


def test_tags_move_then_shrink_and_are_left_out_only_when_nothing_fits():
    # two faces side by side, closer than one tag's width: the second tag moves below its box
    rects, places = _rects([(100, 100, 150, 150), (130, 100, 180, 150)])
    assert places[0][0][3] <= 100 and places[1][0][1] >= 150 and places[1][1] == 0
    # a frame narrower than the tag: it shrinks to the next size that fits
    rects, places = _rects([(10, 30, 40, 60)], frame=(80, 80))
    assert places[0][1] == 1 and rects[0][2] <= 80
    # a tiny frame packed with faces: no tag overlaps another even though some must be left out
    boxes = [(x, y, x + 20, y + 20) for x in range(0, 100, 20) for y in range(0, 60, 20)]
    rects, places = _rects(boxes, frame=(100, 60))
    assert 0 < len(rects) < len(boxes)
    assert all(not _overlaps(a, b) for i, a in enumerate(rects) for b in rects[i + 1:])


@pytest.mark.parametrize("shape", [(120, 160, 3), (480, 640, 3), (2160, 3840, 3)])
def test_draws_on_any_frame_size(shape):
    scene = np.zeros(shape, np.uint8)
    h, w = shape[:2]
    faces = [classified((w * 0.1, 0, w * 0.3, h * 0.3)), Face((w * 0.5, h * 0.5, w * 0.9, h * 0.99), 0.5),
             Face((w * 0.4, h * 0.1, w * 0.45, h * 0.15), 0.5, unjudgeable="too small")]
    out = FaceAnnotator(show_track_id=True).annotate(scene, faces)
    assert out.shape == shape and out.any()


def test_zero_faces_leave_the_frame_untouched():
    scene = np.zeros((50, 50, 3), np.uint8)
    assert not FaceAnnotator().annotate(scene, []).any()


def test_faces_outside_or_at_edges_do_not_crash():
    scene = np.zeros((100, 100, 3), np.uint8)
    faces = [classified((-50, -50, 10, 10)), classified((95, 95, 300, 300)), classified((40, 0, 60, 5))]
    boxes = BoxAnnotator().annotate(scene.copy(), faces)
    assert boxes.shape == scene.shape
    assert boxes[95:, 95].any() and boxes[95, 95:].any()   # the corner box's visible edges are drawn
    assert boxes[:10, 10].any()                             # so is the box hanging off the top left
    labels = LabelAnnotator().annotate(scene.copy(), faces)
    assert labels.shape == scene.shape and labels[:, :].any()
    assert labels[:30, 30:70].any()  # the label of the face at the top edge is moved into the frame


def test_tags_never_claim_certainty():
    face = Face((0, 0, 10, 10), 0.9).with_classification("male", 0.998, np.eye(8)[7])
    assert face.label() == "M 99% | 60-100 99%"
