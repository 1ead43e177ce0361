"""Headless `--summary` and `--blur`: in-process with scripted models, and once through the CLI."""
import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from core.config import AppConfig
from core.errors import SourceError
from pipeline.analyzer import FaceAnalyzer
from pipeline.headless import run_headless
from pipeline.privacy import blur_region
from tests.conftest import FIXTURES, ROOT, FakeClassifier, FakeDetector

CLIP = FIXTURES / "two_faces.mp4"   # 24 frames at 15 fps, 320 px wide
BOXES = [(60, 80, 120, 150), (200, 80, 260, 150)]


def fake_analyzer():
    return FaceAnalyzer(detector=FakeDetector([BOXES]), classifier=FakeClassifier(
        [("female", 0.9, np.eye(8)[4]), ("male", 0.9, np.eye(8)[6])]))


def test_summary_counts_each_tracked_person_once(tmp_path):
    path = tmp_path / "summary.json"
    run = run_headless(str(CLIP), None, None, progress=False, analyzer=fake_analyzer(), summary=str(path))
    assert run.summary == path and run.people == 2
    data = json.loads(path.read_text())
    assert set(data) == {"people", "by_gender", "by_age_group", "people_list"}
    assert data["people"] == 2 and sum(data["by_gender"].values()) == 2
    assert sum(data["by_age_group"].values()) == 2
    for person in data["people_list"]:
        assert set(person) == {"track_id", "first_s", "last_s", "gender", "gender_prob", "female_prob", "age_group",
                               "age_probs", "apparent_age", "photo"}
        assert person["photo"] is None  # a video's people are found by time, not by file
        # a person is seen from the frame their track is confirmed on (pipeline.tracker), not before
        first_shown_s = (AppConfig().confirm_hits - 1) / 15
        assert person["first_s"] == pytest.approx(first_shown_s, abs=1e-3)
        assert person["last_s"] == pytest.approx(23 / 15, abs=1e-3)


def test_summary_of_a_photo_counts_its_faces(tmp_path):
    path = tmp_path / "summary.json"
    run_headless(str(FIXTURES / "two_faces.jpg"), None, None, progress=False, analyzer=fake_analyzer(),
                 summary=str(path))
    assert json.loads(path.read_text())["people"] == 2


def test_unwritable_summary_fails_before_the_run(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    analyzer = fake_analyzer()
    with pytest.raises(SourceError, match="Cannot write the summary"):
        run_headless(str(CLIP), None, None, progress=False, analyzer=analyzer, summary=str(blocker / "s.json"))
    assert analyzer.detector.calls == 0


def test_blurred_recording_differs_only_around_faces(tmp_path):
    plain, blurred = tmp_path / "plain.avi", tmp_path / "blurred.avi"   # MJPG: both decode the same way
    run_headless(str(CLIP), str(plain), None, progress=False, analyzer=fake_analyzer())
    run_headless(str(CLIP), str(blurred), None, progress=False, analyzer=fake_analyzer(), blur=True)
    a, b = cv2.VideoCapture(str(plain)), cv2.VideoCapture(str(blurred))
    ok_a, fa = a.read()
    ok_b, fb = b.read()
    assert ok_a and ok_b
    diff = np.abs(fa.astype(int) - fb.astype(int)).max(axis=2)
    inside = np.zeros(diff.shape, bool)
    for box in BOXES:
        x1, y1, x2, y2 = blur_region(box, fa.shape)
        inside[y1:y2, x1:x2] = True
    grown = cv2.dilate(inside.astype(np.uint8), np.ones((17, 17), np.uint8)).astype(bool)  # JPEG blocks bleed
    assert diff[inside].mean() > 8 * max(diff[~grown].mean(), 0.5)
    assert diff[~grown].mean() < 1.0


def test_cli_summary_and_blur_with_tiny_models(tmp_path, tiny_onnx_detector_weights, tiny_classifier_weights):
    summary, out = tmp_path / "s.json", tmp_path / "blurred.mp4"
    result = subprocess.run([sys.executable, "main.py", "--headless", "--no-progress", "--source", str(CLIP),
                             "--output", str(out), "--summary", str(summary), "--blur", "--confidence", "0.01",
                             "--detector", str(tiny_onnx_detector_weights), "--classifier", str(tiny_classifier_weights)],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "people: " in result.stdout and "24 frames" in result.stdout
    data = json.loads(summary.read_text(), parse_constant=lambda c: pytest.fail(c))
    assert data["people"] == len(data["people_list"]) == sum(data["by_gender"].values())
    assert int(cv2.VideoCapture(str(out)).get(cv2.CAP_PROP_FRAME_COUNT)) == 24


def test_a_summary_write_failing_at_the_end_is_a_one_line_error(tmp_path, monkeypatch):
    import pipeline.headless as headless

    def disk_full(summary, path):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(headless, "write_summary", disk_full)
    with pytest.raises(SourceError, match="No space left on device"):
        run_headless(str(CLIP), None, None, progress=False, analyzer=fake_analyzer(), summary=str(tmp_path / "s.json"))


def test_faces_waiting_for_confirmation_are_blurred_not_shown():
    """Confirmed tracks (issue 15) hide a face for its first frames; blur (issue 18) must not wait for it."""
    analyzer = fake_analyzer()
    frame = np.zeros((240, 320, 3), np.uint8)
    first = analyzer.track(frame)
    assert first == [] and sorted(f.box for f in analyzer.unconfirmed_faces) == sorted(BOXES)
    for _ in range(AppConfig().confirm_hits - 1):
        shown = analyzer.track(frame)
    assert len(shown) == 2 and analyzer.unconfirmed_faces == []


def test_summary_file_gets_the_same_permissions_as_other_outputs(tmp_path):
    """mkstemp's 0600 made the summary the one output other users could not read."""
    import os
    from pipeline.summary import write_summary
    mask = os.umask(0o022)
    try:
        path = write_summary({"people": 0, "by_gender": {}, "by_age_group": {}, "people_list": []}, tmp_path / "s.json")
    finally:
        os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o644


def test_people_of_a_photo_folder_name_their_photo(tmp_path):
    """A folder's summary used to give people 1..N with no way back to the picture each was found in."""
    import shutil
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("first.jpg", "second.jpg"):
        shutil.copyfile(FIXTURES / "two_faces.jpg", photos / name)
    path = tmp_path / "people.json"
    run_headless(str(photos), None, None, progress=False, analyzer=fake_analyzer(), summary=str(path))
    people = json.loads(path.read_text())["people_list"]
    assert sorted(p["photo"] for p in people) == ["first.jpg", "first.jpg", "second.jpg", "second.jpg"]


def test_people_of_photos_join_the_results_rows_by_number(tmp_path):
    """Photo results rows had track_id null while the summary numbered its people: they joined by file only."""
    import csv
    import shutil
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("first.jpg", "second.jpg"):
        shutil.copyfile(FIXTURES / "two_faces.jpg", photos / name)
    people_path, rows_path = tmp_path / "people.json", tmp_path / "rows.csv"
    run_headless(str(photos), None, str(rows_path), progress=False, analyzer=fake_analyzer(),
                 summary=str(people_path))
    with rows_path.open() as f:
        rows = {int(r["track_id"]): (r["source"], r["gender"]) for r in csv.DictReader(f)}
    people = {p["track_id"]: (p["photo"], p["gender"]) for p in json.loads(people_path.read_text())["people_list"]}
    assert sorted(rows) == [1, 2, 3, 4] and people == rows
