import numpy as np

from core.config import AppConfig
from core.geometry import iou
from pipeline.analyzer import FaceAnalyzer
from pipeline.tracker import IouTracker
from tests.conftest import FakeClassifier, FakeDetector


def test_iou():
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (20, 20, 30, 30)) == 0.0
    assert abs(iou((0, 0, 10, 10), (5, 0, 15, 10)) - 1 / 3) < 1e-9


def test_ids_persist_through_motion_and_short_dropouts():
    tracker = IouTracker(0.3, max_missed_frames=2)
    from core.face import Face
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


def grey(shape):
    """A mid-grey frame: bright enough that faces on it are judged (black ones are 'too dark')."""
    return np.full(shape, 128, np.uint8)


def _analyzer(boxes, answers, **cfg):
    cfg.setdefault("confirm_hits", 1)  # most tests here are about classification, not confirmation
    config = AppConfig(**cfg)
    return FaceAnalyzer(config, detector=FakeDetector(boxes), classifier=FakeClassifier(answers))


def test_track_reclassifies_every_n_frames_only():
    boxes = [[(10, 10, 60, 60), (100, 10, 150, 60), (200, 10, 250, 60)]]
    an = _analyzer(boxes, None, classify_every_n_frames=5, max_classifications_per_frame=10,
                   settle_classifications=1)
    frame = grey((120, 320, 3))
    for _ in range(10):
        faces = an.track(frame)
    assert an.classifier.seen == 3 * 2  # frames 1 and 6
    assert [f.track_id for f in faces] == [1, 2, 3]
    assert all(f.is_classified for f in faces)


def test_classification_budget_spreads_work_over_frames():
    boxes = [[(i * 40, 0, i * 40 + 36, 36) for i in range(10)]]  # above MIN_FACE_SIDE_PX: all judged
    an = _analyzer(boxes, None, classify_every_n_frames=100, max_classifications_per_frame=4,
                   settle_classifications=1)
    frame = grey((60, 420, 3))
    counts = []
    for _ in range(3):
        an.track(frame)
        counts.append(an.last_timings.classified)
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
    frame = grey((100, 100, 3))
    raw_labels = [(f.gender, f.age_group) for f in (raw.track(frame)[0] for _ in range(30))]
    smooth_faces = [smooth.track(frame)[0] for _ in range(30)]
    smooth_labels = [(f.gender, f.age_group) for f in smooth_faces if f.is_classified]
    assert _flips(raw_labels) >= 25
    assert len(smooth_labels) >= 25 and _flips(smooth_labels) == 0


def test_new_track_settles_before_its_first_label():
    # the first crop is an outlier (male, 60-100); the next two agree (female, 25-32)
    answers = [("male", 0.9, np.eye(8)[7]), ("female", 0.9, np.eye(8)[4]), ("female", 0.9, np.eye(8)[4])]
    an = _analyzer([[(10, 10, 60, 60)]], answers, classify_every_n_frames=6, settle_classifications=3)
    frame = grey((100, 100, 3))
    first, second, third = (an.track(frame)[0] for _ in range(3))
    assert not first.is_classified and not second.is_classified  # no label drawn while settling
    assert an.classifier.seen == 3  # settling tracks are classified on consecutive frames
    assert (third.gender, third.age_group) == ("female", "25-32")  # plain mean of the three
    assert abs(third.gender_prob - (0.1 + 0.9 + 0.9) / 3) < 1e-6
    for _ in range(4):
        an.track(frame)
    assert an.classifier.seen == 3  # settled: back to every 6th frame


def test_settling_tracks_come_before_settled_ones_in_the_budget():
    one, two = [(0, 0, 40, 40)], [(0, 0, 40, 40), (100, 0, 140, 40)]
    an = _analyzer([one, one, two], None, classify_every_n_frames=1, max_classifications_per_frame=1,
                   settle_classifications=2)
    frame = grey((60, 160, 3))
    an.track(frame)
    an.track(frame)  # track 1 settled
    assert [f.is_classified for f in an.track(frame)] == [True, False]  # track 2 appears, settles
    # track 1 is now the stalest and due, but the settling track 2 takes the one classification
    assert [f.is_classified for f in an.track(frame)] == [True, True]


def test_analyze_keeps_no_state_between_photos():
    an = _analyzer([[(10, 10, 60, 60)]], [("female", 0.9, np.eye(8)[0]), ("male", 0.9, np.eye(8)[7])])
    frame = grey((100, 100, 3))
    first, second = an.analyze(frame)[0], an.analyze(frame)[0]
    assert (first.gender, first.age_group) == ("female", "0-2")
    assert (second.gender, second.age_group) == ("male", "60-100")
    assert first.track_id is None


def test_crop_scale_acts_on_next_frame_and_is_clamped():
    an = _analyzer([[(10, 10, 60, 60)]], None)
    frame = grey((100, 100, 3))
    an.analyze(frame)
    an.configure(crop_scale=5.0)
    assert an.config.crop_scale == 2.0
    assert an.classifier.crop_shapes[-1] == (32, 32, 3)


def test_zero_and_fifty_faces():
    """The tracker's side only (a fake detector hands it 50 boxes): whether the real detector finds 50
    faces is test_models.test_shipped_detector_finds_a_crowd_of_fifty_faces."""
    boxes50 = [(x * 12, y * 12, x * 12 + 10, y * 12 + 10) for x in range(10) for y in range(5)]
    an = _analyzer([[], boxes50], None, max_classifications_per_frame=50)
    frame = grey((80, 130, 3))
    assert an.track(frame) == []
    faces = an.track(frame)
    assert len(faces) == 50 and len({f.track_id for f in faces}) == 50
    an.reset()
    assert an.tracker.tracks == []


def test_flashes_shorter_than_confirm_hits_are_never_shown():
    face, flash = (10, 10, 60, 60), (200, 10, 240, 50)
    # the flash (a hand, a microphone) is detected on 2 frames, missed, then on 1 more: never confirmed
    boxes = [[face, flash], [face, flash], [face], [face, flash], [face], [face]]
    an = _analyzer(boxes, None, confirm_hits=3, classify_every_n_frames=1)
    frame = grey((120, 320, 3))
    shown = [an.track(frame) for _ in boxes]
    assert [len(f) for f in shown] == [0, 0, 1, 1, 1, 1]
    assert {f.box for faces in shown for f in faces} == {tuple(map(float, face))}


def test_confirmed_face_is_labelled_on_its_first_shown_frame_and_survives_dropouts():
    face = (10, 10, 60, 60)
    boxes = [[face]] * 3 + [[]] * 2 + [[face]]
    an = _analyzer(boxes, None, confirm_hits=3, settle_classifications=3)
    frame = grey((100, 100, 3))
    shown = [an.track(frame) for _ in boxes]
    assert shown[2][0].is_classified  # settled while tentative: no unlabelled box ever
    assert shown[3] == [] and shown[4] == []  # not detected: not drawn
    assert shown[5][0].track_id == shown[2][0].track_id  # a confirmed track survives short drop-outs


def test_files_get_a_label_on_every_shown_frame_despite_the_live_budget():
    boxes = [[(i * 40, 0, i * 40 + 36, 36) for i in range(8)]]
    frame = grey((60, 340, 3))
    live = _analyzer(boxes, None, confirm_hits=3, max_classifications_per_frame=4)
    offline = _analyzer(boxes, None, confirm_hits=3, max_classifications_per_frame=4, realtime=False)
    live_faces = [live.track(frame) for _ in range(3)][-1]
    offline_faces = [offline.track(frame) for _ in range(3)][-1]
    assert not all(f.is_classified for f in live_faces)  # live: 4 classifications a frame, some wait
    assert len(offline_faces) == 8 and all(f.is_classified for f in offline_faces)


def test_unsure_parts_show_a_question_mark_with_hysteresis():
    from core.face import AGE_MIN_PROB, GENDER_MIN_PROB
    sure_age = np.eye(8)[4] * 0.9 + 0.1 / 8
    answers = [("female", 0.6, sure_age)]  # a child-like gender guess: below the threshold
    an = _analyzer([[(10, 10, 60, 60)]], answers, classify_every_n_frames=1, settle_classifications=1)
    frame = grey((100, 100, 3))
    face = an.track(frame)[0]
    assert face.gender_unsure and not face.age_unsure and face.shown_gender is None
    assert face.label() == "? | 25-32 91%"  # 0.9 + 0.1 / 8
    # a sure track stays sure while its probability dips inside the band below the threshold
    dips = [("female", GENDER_MIN_PROB + 0.1, sure_age), ("female", GENDER_MIN_PROB - 0.03, sure_age)]
    an = _analyzer([[(10, 10, 60, 60)]], dips, classify_every_n_frames=1, settle_classifications=1,
                   smoothing_alpha=1.0)
    labels = [an.track(frame)[0].label()[0] for _ in range(6)]
    assert labels == ["F"] * 6
    assert AGE_MIN_PROB < 0.9


def test_the_question_mark_band_is_a_setting_of_the_analyzer():
    # the same dip below the threshold keeps the answer inside the default band and shows "?" without one
    from core.face import GENDER_MIN_PROB
    sure_age = np.eye(8)[4] * 0.9 + 0.1 / 8
    dips = [("female", GENDER_MIN_PROB + 0.1, sure_age), ("female", GENDER_MIN_PROB - 0.03, sure_age)]
    frame = grey((100, 100, 3))
    for band, second in ((AppConfig().unsure_band_prob, "F"), (0.0, "?")):
        an = _analyzer([[(10, 10, 60, 60)]], dips, classify_every_n_frames=1, settle_classifications=1,
                       smoothing_alpha=1.0, unsure_band_prob=band)
        assert [an.track(frame)[0].label()[0] for _ in range(2)] == ["F", second]


def test_a_track_that_looks_young_needs_the_young_gender_threshold():
    from core.face import GENDER_MIN_PROB, GENDER_MIN_PROB_YOUNG
    between = (GENDER_MIN_PROB + GENDER_MIN_PROB_YOUNG) / 2
    frame = grey((100, 100, 3))
    labels = {}
    for name, group in (("adult", 4), ("child", 1)):
        age = np.eye(8)[group] * 0.9 + 0.1 / 8
        an = _analyzer([[(10, 10, 60, 60)]], [("female", between, age)], classify_every_n_frames=1,
                       settle_classifications=1)
        labels[name] = [an.track(frame)[0].label()[0] for _ in range(4)]
    assert labels == {"adult": ["F"] * 4, "child": ["?"] * 4}


def test_too_small_and_too_dark_faces_get_a_marker_and_no_classification():
    from core.face import MIN_FACE_SIDE_PX, TOO_DARK, TOO_SMALL
    frame = grey((120, 320, 3))
    frame[:, 200:] = 5  # a dark corner
    tiny = (10, 10, 10 + MIN_FACE_SIDE_PX - 4, 10 + MIN_FACE_SIDE_PX - 4)
    boxes = [[tiny, (100, 10, 160, 70), (220, 10, 280, 70)]]
    an = _analyzer(boxes, None)
    faces = an.analyze(frame)
    assert [f.unjudgeable for f in faces] == [TOO_SMALL, None, TOO_DARK]
    assert an.classifier.seen == 1 and faces[1].is_classified
    assert [f.label() for f in (faces[0], faces[2])] == ["too small", "too dark"]
    tracked = an.track(frame)
    assert [f.unjudgeable for f in tracked] == [TOO_SMALL, None, TOO_DARK]
    assert an.classifier.seen == 2


def test_smoothing_still_shows_a_real_change_within_a_track():
    # the tracker mixed two people up (no cut between them): the classifier's answer changes for good, after
    # a track long enough for the long-memory mean (smoothing_alpha 0.05: 20 classifications) to be full
    from pipeline.tracker import CHANGE_WINDOW_CLASSIFICATIONS
    old, new = ("male", 0.95, np.eye(8)[5]), ("female", 0.95, np.eye(8)[4])
    an = _analyzer([[(10, 10, 60, 60)]], [old] * 40 + [new] * 100, classify_every_n_frames=1)
    frame = grey((100, 100, 3))
    faces = [an.track(frame)[0] for _ in range(60)]
    assert (faces[39].shown_gender, faces[39].age_group) == ("male", "38-43")
    first_not_male = next(i for i in range(40, 60) if faces[i].shown_gender != "male")
    first_female = next(i for i in range(40, 60) if faces[i].shown_gender == "female")
    # the new answer shows on the 4th new classification (24 frames: 1.0 s at 25 fps, 1.6 s at 15 fps,
    # with every 6th frame classified), and the old one is never shown after it
    assert first_not_male - 40 < CHANGE_WINDOW_CLASSIFICATIONS
    assert first_female - 40 == CHANGE_WINDOW_CLASSIFICATIONS - 1
    assert all(f.shown_gender == "female" and f.age_group == "25-32" and not f.age_unsure for f in faces[first_female:])


def test_one_persons_varying_crops_do_not_restart_the_evidence():
    # one person turning and talking: single crops swing between sure and unsure, and between neighbouring
    # age groups, but they do not all leave the track's mean at once
    ages = [np.array([0, 0, 0, 0, 0.7, 0.3, 0, 0]), np.array([0, 0, 0, 0, 0.3, 0.6, 0.1, 0])]
    answers = [("female", p, ages[i % 2]) for i, p in enumerate([0.99, 0.6, 0.97, 0.55, 0.99, 0.8] * 10)]
    an = _analyzer([[(10, 10, 60, 60)]], answers, classify_every_n_frames=1)
    frame = grey((100, 100, 3))
    labels = [an.track(frame)[0].label().split(" ")[0] for _ in range(60)]
    assert an.tracker.tracks[0].evidence_count == 60  # never restarted
    assert _flips([lab for lab in labels if lab != "face"]) == 0


def test_an_unsure_part_is_answered_only_clearly_above_its_threshold():
    from core.face import GENDER_MIN_PROB
    from pipeline.tracker import ANSWER_BAND_PROB
    age = np.eye(8)[4] * 0.9 + 0.1 / 8
    # settles below the threshold ("?"), then the evidence rises just past it, then clearly past it
    answers = ([("female", GENDER_MIN_PROB - 0.1, age)] * 3 + [("female", GENDER_MIN_PROB + ANSWER_BAND_PROB / 2, age)] * 6
               + [("female", 0.999, age)] * 6)
    an = _analyzer([[(10, 10, 60, 60)]], answers, classify_every_n_frames=1, smoothing_alpha=1.0)
    frame = grey((100, 100, 3))
    labels = [an.track(frame)[0].label()[0] for _ in range(15)]
    assert labels[2:9] == ["?"] * 7 and labels[9:] == ["F"] * 6


def test_a_young_looking_faces_gender_question_mark_can_still_be_answered():
    """Its threshold (0.95) plus the answer band would pass 1: the cap keeps an answer reachable."""
    from core.face import GENDER_MIN_PROB_YOUNG
    from pipeline.tracker import ANSWER_BAND_PROB, ANSWER_MAX_PROB
    assert GENDER_MIN_PROB_YOUNG + ANSWER_BAND_PROB > 1.0 > ANSWER_MAX_PROB > GENDER_MIN_PROB_YOUNG
    young = np.eye(8)[1] * 0.9 + 0.1 / 8   # 4-6 years: looks 20 or younger
    answers = ([("male", GENDER_MIN_PROB_YOUNG - 0.1, young)] * 3 + [("male", ANSWER_MAX_PROB - 0.01, young)] * 6
               + [("male", ANSWER_MAX_PROB + 0.02, young)] * 6)
    an = _analyzer([[(10, 10, 60, 60)]], answers, classify_every_n_frames=1, smoothing_alpha=1.0)
    frame = grey((100, 100, 3))
    labels = [an.track(frame)[0].label()[0] for _ in range(15)]
    assert labels[2:9] == ["?"] * 7 and labels[9:] == ["M"] * 6


def test_a_face_at_the_darkness_limit_does_not_blink_between_label_and_marker():
    from core.face import MIN_FACE_HIGHLIGHT_LUMA, TOO_DARK, unjudgeable_reason
    box = (10, 10, 60, 60)
    at = lambda level: np.full((80, 80, 3), level, np.uint8)  # noqa: E731
    just_above, just_below = MIN_FACE_HIGHLIGHT_LUMA + 2, MIN_FACE_HIGHLIGHT_LUMA - 2
    assert unjudgeable_reason(at(just_below), box) == TOO_DARK          # a new face: the plain limit
    assert unjudgeable_reason(at(just_below), box, None, judged_before=True) is None  # judged: stays
    assert unjudgeable_reason(at(just_above), box, TOO_DARK, judged_before=True) == TOO_DARK  # marked: stays
    assert unjudgeable_reason(at(MIN_FACE_HIGHLIGHT_LUMA // 2), box, None, judged_before=True) == TOO_DARK
