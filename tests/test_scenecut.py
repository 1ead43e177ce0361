"""Scene cuts: the detector on synthetic and real frames, and tracks that never cross a cut."""
import cv2
import numpy as np
import pytest

from core.config import AppConfig
from pipeline.analyzer import FaceAnalyzer
from pipeline.scenecut import CUT_DISTANCE, SceneCutDetector, frame_signature, signature_distance
from tests.conftest import ROOT, FakeClassifier, FakeDetector, needs_shipped_weights

DEMO = ROOT / "demo" / "demo_faces.mp4"


def room(seed, shift=0):
    """A synthetic shot: a gradient background with a few coloured blocks, optionally panned by `shift` px."""
    rng = np.random.default_rng(seed)
    frame = np.zeros((240, 320, 3), np.uint8)
    frame[:] = rng.integers(40, 200, 3)
    for _ in range(5):
        x, y = rng.integers(0, 260), rng.integers(0, 180)
        cv2.rectangle(frame, (int(x), int(y)), (int(x + 60), int(y + 60)), rng.integers(0, 255, 3).tolist(), -1)
    return np.roll(frame, shift, axis=1)


def demo_frames(first, count):
    cap = cv2.VideoCapture(str(DEMO))
    cap.set(cv2.CAP_PROP_POS_FRAMES, first)
    frames = [cap.read()[1] for _ in range(count)]
    cap.release()
    return frames


def test_signature_distance_is_zero_for_the_same_frame_and_large_across_shots():
    a, b = frame_signature(room(1)), frame_signature(room(2))
    assert signature_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    assert signature_distance(a, b) > CUT_DISTANCE


def test_detector_fires_on_a_cut_only():
    det = SceneCutDetector()
    shot_a = [room(1, shift=s) for s in range(0, 40, 4)]  # a slow pan is not a cut
    shot_b = [room(2, shift=s) for s in range(0, 40, 4)]
    cuts = [det.update(f) for f in shot_a + shot_b]
    assert cuts == [False] * 10 + [True] + [False] * 9
    det.reset()
    assert det.update(shot_b[0]) is False  # the first frame of a stream is never a cut


def test_demo_clip_cuts_at_its_segment_boundaries_only():
    det = SceneCutDetector()
    cap = cv2.VideoCapture(str(DEMO))
    cuts = []
    while (frame := cap.read()[1]) is not None:
        cuts.append(det.update(frame))
    assert [i for i, c in enumerate(cuts) if c] == [120, 240]


def test_a_cut_starts_new_tracks_and_fresh_smoothing():
    frame_a, frame_b = room(1), room(2)
    box = (100, 60, 160, 120)  # the next shot's person stands exactly where the last one stood
    answers = [("male", 0.95, np.eye(8)[5])] * 8 + [("female", 0.95, np.eye(8)[4])] * 20
    an = FaceAnalyzer(AppConfig(classify_every_n_frames=1), detector=FakeDetector([[box]]),
                      classifier=FakeClassifier(answers))
    before = [an.track(frame_a) for _ in range(8)][-1][0]
    after = [an.track(frame_b) for _ in range(3)]
    assert (before.gender, before.age_group) == ("male", "38-43")
    assert after[0] == [] and after[1] == []           # new tentative track: not shown yet
    face = after[2][0]
    assert face.track_id != before.track_id
    assert (face.gender, face.age_group) == ("female", "25-32")  # nothing of the last person's mean
    assert face.gender_prob == pytest.approx(0.95)
    assert an.scene_cuts_seen == 1


@needs_shipped_weights()
def test_real_models_do_not_carry_an_id_across_the_demo_clips_cut():
    """Frame 120 cuts from one face at the centre to three faces, one of them near the same spot."""
    frames = demo_frames(110, 20)

    def ids(cuts_on):
        an = FaceAnalyzer(AppConfig(scene_cuts=cuts_on))
        per_frame = [{f.track_id for f in an.track(frame)} for frame in frames]
        return set().union(*per_frame[:10]), set().union(*per_frame[10:])

    before, after = ids(True)
    assert before and after and not before & after
    before, after = ids(False)
    assert before & after  # without cut detection the old id would pass to the new person
