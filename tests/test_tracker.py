import numpy as np

from pipeline.analyzer import FaceAnalyzer
from pipeline.config import AppConfig
from pipeline.tracker import IouTracker, iou
from tests.conftest import FakeClassifier, FakeDetector


def test_iou():
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (20, 20, 30, 30)) == 0.0
    assert abs(iou((0, 0, 10, 10), (5, 0, 15, 10)) - 1 / 3) < 1e-9


def test_ids_persist_through_motion_and_short_dropouts():
    tracker = IouTracker(0.3, max_missed_frames=2)
    from pipeline.face import Face
    a = tracker.update([Face((0, 0, 50, 50), 0.9), Face((100, 0, 150, 50), 0.9)])
    ids = [t.track_id for t in a]
    b = tracker.update([Face((104, 2, 154, 52), 0.9), Face((3, 1, 53, 51), 0.9)])
    assert [t.track_id for t in b] == ids[::-1]
    tracker.update([])  # both missed once
    c = tracker.update([Face((5, 2, 55, 52), 0.9)])
    assert c[0].track_id == ids[0]
    for _ in range(3):
        tracker.update([])
    d = tracker.update([Face((5, 2, 55, 52), 0.9)])
    assert d[0].track_id not in ids  # expired tracks are not revived


def _analyzer(boxes, answers, **cfg):
    config = AppConfig(**cfg)
    return FaceAnalyzer(config, detector=FakeDetector(boxes), classifier=FakeClassifier(answers))


def test_track_reclassifies_every_n_frames_only():
    boxes = [[(10, 10, 60, 60), (100, 10, 150, 60), (200, 10, 250, 60)]]
    an = _analyzer(boxes, None, classify_every_n_frames=5, max_classifications_per_frame=10,
                   settle_classifications=1)
    frame = np.zeros((120, 320, 3), np.uint8)
    for _ in range(10):
        faces = an.track(frame)
    assert an.classifier.seen == 3 * 2  # frames 1 and 6
    assert [f.track_id for f in faces] == [1, 2, 3]
    assert all(f.is_classified for f in faces)


def test_classification_budget_spreads_work_over_frames():
    boxes = [[(i * 30, 0, i * 30 + 25, 25) for i in range(10)]]
    an = _analyzer(boxes, None, classify_every_n_frames=100, max_classifications_per_frame=4,
                   settle_classifications=1)
    frame = np.zeros((60, 320, 3), np.uint8)
    counts = []
    for _ in range(3):
        an.track(frame)
        counts.append(an.last_timings_ms["classified"])
    assert counts == [4, 4, 2]


def _flips(labels):
    return sum(a != b for a, b in zip(labels, labels[1:]))


def test_smoothing_and_hysteresis_stop_label_flicker():
    # a face whose raw classification alternates between two close age groups and genders
    p1 = np.array([0, 0, 0, 0, 0.52, 0.48, 0, 0])
    p2 = np.array([0, 0, 0, 0, 0.46, 0.54, 0, 0])
    answers = [("female", 0.55, p1), ("male", 0.53, p2)]
    raw = _analyzer([[(10, 10, 60, 60)]], answers, classify_every_n_frames=1, smoothing=False)
    smooth = _analyzer([[(10, 10, 60, 60)]], answers, classify_every_n_frames=1, smoothing=True)
    frame = np.zeros((100, 100, 3), np.uint8)
    raw_labels = [(f.gender, f.age_group) for f in (raw.track(frame)[0] for _ in range(30))]
    smooth_faces = [smooth.track(frame)[0] for _ in range(30)]
    smooth_labels = [(f.gender, f.age_group) for f in smooth_faces if f.is_classified]
    assert _flips(raw_labels) >= 25
    assert len(smooth_labels) >= 25 and _flips(smooth_labels) == 0


def test_new_track_settles_before_its_first_label():
    # the first crop is an outlier (male, 60-100); the next two agree (female, 25-32)
    answers = [("male", 0.9, np.eye(8)[7]), ("female", 0.9, np.eye(8)[4]), ("female", 0.9, np.eye(8)[4])]
    an = _analyzer([[(10, 10, 60, 60)]], answers, classify_every_n_frames=6, settle_classifications=3)
    frame = np.zeros((100, 100, 3), np.uint8)
    first, second, third = (an.track(frame)[0] for _ in range(3))
    assert not first.is_classified and not second.is_classified  # no label drawn while settling
    assert an.classifier.seen == 3  # settling tracks are classified on consecutive frames
    assert (third.gender, third.age_group) == ("female", "25-32")  # plain mean of the three
    assert abs(third.gender_prob - (0.1 + 0.9 + 0.9) / 3) < 1e-6
    for _ in range(4):
        an.track(frame)
    assert an.classifier.seen == 3  # settled: back to every 6th frame


def test_settling_tracks_come_before_settled_ones_in_the_budget():
    one, two = [(0, 0, 25, 25)], [(0, 0, 25, 25), (100, 0, 125, 25)]
    an = _analyzer([one, one, two], None, classify_every_n_frames=1, max_classifications_per_frame=1,
                   settle_classifications=2)
    frame = np.zeros((60, 160, 3), np.uint8)
    an.track(frame)
    an.track(frame)  # track 1 settled
    assert [f.is_classified for f in an.track(frame)] == [True, False]  # track 2 appears, settles
    # track 1 is now the stalest and due, but the settling track 2 takes the one classification
    assert [f.is_classified for f in an.track(frame)] == [True, True]


def test_analyze_keeps_no_state_between_photos():
    an = _analyzer([[(10, 10, 60, 60)]], [("female", 0.9, np.eye(8)[0]), ("male", 0.9, np.eye(8)[7])])
    frame = np.zeros((100, 100, 3), np.uint8)
    first, second = an.analyze(frame)[0], an.analyze(frame)[0]
    assert (first.gender, first.age_group) == ("female", "0-2")
    assert (second.gender, second.age_group) == ("male", "60-100")
    assert first.track_id is None


def test_crop_scale_acts_on_next_frame_and_is_clamped():
    an = _analyzer([[(10, 10, 60, 60)]], None)
    frame = np.zeros((100, 100, 3), np.uint8)
    an.analyze(frame)
    an.crop_scale = 5.0
    assert an.crop_scale == 2.0
    assert an.classifier.crop_shapes[-1] == (32, 32, 3)


def test_zero_and_fifty_faces():
    """The tracker's side only (a fake detector hands it 50 boxes): whether the real detector finds 50
    faces is test_models.test_shipped_detector_finds_a_crowd_of_fifty_faces."""
    boxes50 = [(x * 12, y * 12, x * 12 + 10, y * 12 + 10) for x in range(10) for y in range(5)]
    an = _analyzer([[], boxes50], None, max_classifications_per_frame=50)
    frame = np.zeros((80, 130, 3), np.uint8)
    assert an.track(frame) == []
    faces = an.track(frame)
    assert len(faces) == 50 and len({f.track_id for f in faces}) == 50
    an.reset()
    assert an.tracker.tracks == []
