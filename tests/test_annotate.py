import numpy as np
import pytest

from pipeline.annotate import BoxAnnotator, FaceAnnotator, LabelAnnotator
from pipeline.face import Face


def classified(box):
    return Face(box, 0.9, 3).with_classification("female", 0.87, np.eye(8)[4] * 0.87 + 0.13 / 8)


def test_label_text():
    face = classified((0, 0, 10, 10))
    assert face.label().startswith("Female | 25-32 | ")
    assert Face((0, 0, 1, 1), 0.5).label() == "face"


@pytest.mark.parametrize("shape", [(120, 160, 3), (480, 640, 3), (2160, 3840, 3)])
def test_draws_on_any_frame_size(shape):
    scene = np.zeros(shape, np.uint8)
    h, w = shape[:2]
    faces = [classified((w * 0.1, 0, w * 0.3, h * 0.3)), Face((w * 0.5, h * 0.5, w * 0.9, h * 0.99), 0.5)]
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
