"""Face blurring: strong inside the (grown) boxes, byte-identical outside them, labels still drawn on top."""
import numpy as np

from core.face import Face
from pipeline.annotate import FaceAnnotator
from pipeline.privacy import BLUR_HOLD_FRAMES, FaceBlurrer, blur_boxes, blur_faces, blur_region


def textured(h=240, w=320, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def inside_mask(shape, boxes):
    mask = np.zeros(shape[:2], bool)
    for box in boxes:
        x1, y1, x2, y2 = blur_region(box, shape)
        mask[y1:y2, x1:x2] = True
    return mask


def test_blur_changes_inside_boxes_strongly_and_nothing_outside():
    frame = textured()
    boxes = [(40, 50, 120, 140), (200, 30, 260, 100)]
    out = blur_boxes(frame.copy(), boxes)
    mask = inside_mask(frame.shape, boxes)
    assert np.array_equal(out[~mask], frame[~mask])
    diff = np.abs(out.astype(int) - frame.astype(int))[mask]
    assert diff.mean() > 40                   # random texture is gone, not merely softened
    for x1, y1, x2, y2 in boxes:              # little detail left: the blurred face is nearly flat
        assert out[y1:y2, x1:x2].std() < 0.25 * frame[y1:y2, x1:x2].std()


def test_region_grows_the_box_and_clips_to_the_frame():
    assert blur_region((100, 100, 200, 200), (480, 640, 3)) == (85, 85, 215, 215)
    assert blur_region((-30, -30, 20, 20), (100, 100, 3)) == (0, 0, 28, 28)
    assert blur_region((500, 500, 600, 600), (100, 100, 3)) is None


def test_labels_stay_readable_after_blurring():
    frame = np.full((240, 320, 3), 128, np.uint8)
    face = Face((120, 100, 200, 180), 0.9, 1).with_classification("female", 0.9, np.eye(8)[4])
    plain = FaceAnnotator().annotate(frame.copy(), [face])
    blurred = FaceAnnotator().annotate(blur_faces(textured(), [face]), [face])
    # wherever the tag is placed, it is drawn after the blur: its pixels are the same as without blurring.
    # (the box outline is anti-aliased onto the picture beneath, so leave a band around it out)
    drawn = (plain != frame).any(axis=2)
    outline = np.zeros_like(drawn)
    outline[96:185, 116:205] = True
    outline[104:177, 124:197] = False
    tag = drawn & ~outline
    assert tag.sum() > 200
    assert np.array_equal(plain[tag], blurred[tag])


def test_blurrer_holds_a_missed_face_for_a_few_frames():
    blurrer = FaceBlurrer()
    face = Face((40, 50, 120, 140), 0.9, 7)
    frame = textured()
    blurrer.apply(frame.copy(), [face])
    for _ in range(BLUR_HOLD_FRAMES):         # the detector misses the face: still blurred
        out = blurrer.apply(frame.copy(), [])
        assert not np.array_equal(out[60:130, 50:110], frame[60:130, 50:110])
    out = blurrer.apply(frame.copy(), [])     # then it is let go
    assert np.array_equal(out, frame)
    blurrer.apply(frame.copy(), [face])
    blurrer.reset()
    assert np.array_equal(blurrer.apply(frame.copy(), []), frame)
