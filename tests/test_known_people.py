"""bench.known_people: how it scores a tag against a person's known gender and age, and its bad input."""
import numpy as np

from bench import known_people
from bench.known_people import KnownPerson, read_clip, tally
from core.cli import run_tool
from pipeline.analyzer import FaceAnalyzer
from tests.conftest import FIXTURES, FakeClassifier, FakeDetector

CLIP = FIXTURES / "two_faces.mp4"   # 24 frames


def test_age_verdict_right_one_off_wrong_and_unsure():
    person = KnownPerson("x.mp4", "male", ("48-53", "60-100"), "")
    assert person.age_verdict("60-100") == person.age_verdict("48-53") == "right"
    assert person.age_verdict("38-43") == "one off"
    assert person.age_verdict("25-32") == "wrong"
    assert person.age_verdict(None) == "?"


def test_the_largest_shown_face_is_scored_on_every_frame():
    small, large = (10, 10, 40, 40), (150, 60, 260, 170)
    analyzer = FaceAnalyzer(detector=FakeDetector([[small, large]]), classifier=FakeClassifier(
        [("male", 0.9, np.eye(8)[2]), ("female", 0.97, np.eye(8)[4])]))   # the large face: F 25-32
    analyzer.configure(realtime=False)
    faces = read_clip(analyzer, CLIP)
    assert len(faces) == 24
    shown = [f for f in faces if f is not None]
    assert all(f.box == tuple(map(float, large)) for f in shown)
    result = tally(KnownPerson(CLIP.name, "female", ("25-32",), ""), faces)
    unshown = 100.0 * (24 - len(shown)) / 24                  # frames before the track is confirmed
    assert result["gender"]["right"] == result["age"]["right"] == round(100.0 - unshown, 1)
    assert result["gender"]["no label"] == round(unshown, 1) and result["most_shown"] == "F 25-32"
    wrong = tally(KnownPerson(CLIP.name, "male", ("60-100",), ""), faces)
    assert wrong["gender"]["wrong"] == wrong["age"]["wrong"] == result["gender"]["right"]


def test_a_folder_without_the_clips_is_one_error_line(tmp_path, capsys):
    assert run_tool(known_people.main, [str(tmp_path / "nowhere")]) == 2
    assert "bench.real_clips" in capsys.readouterr().err
    assert run_tool(known_people.main, [str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: none of the clips") and "\n" not in err


def test_a_keras_candidate_needs_trust_checkpoints(tmp_path, capsys):
    (tmp_path / "WDA_KatieHill_000.mp4").write_bytes(b"")   # present, so the run gets as far as the models
    candidate = tmp_path / "candidate.keras"
    candidate.write_bytes(b"x" * 2048)
    assert run_tool(known_people.main, [str(tmp_path), "--classifier", str(candidate)]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]   # after a warning per missing clip
    assert err.startswith("error: candidate.keras is a Keras checkpoint") and "--trust-checkpoints" in err
