"""`SessionSummary`: people counted once, brief false tracks not at all, strict atomic JSON/CSV export."""
import json

import numpy as np
import pytest

from core.face import Face
from core.labels import AGE_GROUPS
from pipeline.summary import (MIN_PERSON_FRAMES, MIN_PERSON_SEEN_S, SUMMARY_CSV_COLUMNS, SessionSummary, summary_csv,
                              write_summary)

FPS = 15.0


def face(track_id, gender="female", prob=0.9, age=4, classified=True):
    f = Face((10, 10, 60, 60), 0.9, track_id)
    if not classified:
        return f
    probs = np.full(8, 0.02, np.float32)
    probs[age] = 1 - 0.02 * 7
    return f.with_classification(gender, prob, probs)


def feed(summary, frames, start_frame=0):
    """frames: list of face lists, one per frame at FPS."""
    for i, faces in enumerate(frames):
        summary.update((start_frame + i) / FPS, faces)


def test_long_lived_person_counts_once_and_brief_false_track_not_at_all():
    summary = SessionSummary()
    person_frames = int(3 * FPS)           # 3 s in view
    frames = [[face(1)] for _ in range(person_frames)]
    for i in range(3):                     # a 3-frame false track in the middle
        frames[20 + i] = frames[20 + i] + [face(2, "male", 0.9, 6)]
    feed(summary, frames)
    out = summary.to_dict()
    assert out["people"] == 1
    assert out["by_gender"] == {"male": 0, "female": 1, "unsure": 0}
    assert out["by_age_group"]["25-32"] == 1 and sum(out["by_age_group"].values()) == 1
    person = out["people_list"][0]
    assert person["track_id"] == 1 and person["first_s"] == 0.0
    assert person["last_s"] == pytest.approx((person_frames - 1) / FPS, abs=1e-3)
    assert person["gender"] == "female" and person["gender_prob"] == pytest.approx(0.9)
    assert set(person["age_probs"]) == set(AGE_GROUPS)
    assert sum(person["age_probs"].values()) == pytest.approx(1.0, abs=1e-3)
    assert 25 < person["apparent_age"] < 35


def test_person_result_is_the_mean_over_its_life():
    summary = SessionSummary()
    # female at 0.98 for 20 frames, then male at 0.6 (P(female) 0.4) for 4: mean P(female) = 0.883
    frames = [[face(1, "female", 0.98)] for _ in range(20)] + [[face(1, "male", 0.6)] for _ in range(4)]
    feed(summary, frames)
    person = summary.to_dict()["people_list"][0]
    assert person["gender"] == "female"
    assert person["gender_prob"] == pytest.approx((20 * 0.98 + 4 * 0.4) / 24, abs=1e-3)


def test_a_mean_under_the_screens_threshold_is_unsure_not_a_guess():
    """A person shown 'F 99% | ?' all clip long got the age group 38-43 (mean P 0.37) in the summary."""
    from core.face import AGE_MIN_PROB, GENDER_MIN_PROB
    summary = SessionSummary()
    flat_age = np.array([0.02, 0.02, 0.02, 0.05, 0.36, 0.37, 0.12, 0.04], np.float32)
    sure = Face((10, 10, 60, 60), 0.9, 1).with_classification("female", 0.99, flat_age)
    doubtful = Face((80, 10, 130, 60), 0.9, 2).with_classification("male", 0.7, np.eye(8, dtype=np.float32)[5])
    feed(summary, [[sure, doubtful] for _ in range(30)])
    out = summary.to_dict()
    first, second = out["people_list"]
    assert sure.label().endswith("| ?") and doubtful.label().startswith("? |")  # what the screen showed
    assert first["gender"] == "female" and first["age_group"] == "unsure" and max(first["age_probs"].values()) < AGE_MIN_PROB
    assert second["gender"] == "unsure" and second["gender_prob"] < GENDER_MIN_PROB and second["age_group"] == "38-43"
    # which way the unsure one leant is still in the file: P(female) 0.3, so male (it was lost before)
    assert second["female_prob"] == pytest.approx(0.3) and first["female_prob"] == pytest.approx(0.99)
    row = summary_csv(out).splitlines()[2].split(",")
    assert row[SUMMARY_CSV_COLUMNS.index("female_prob")] == "0.3"
    assert out["by_gender"] == {"male": 0, "female": 1, "unsure": 1}
    assert out["by_age_group"]["unsure"] == 1 and out["by_age_group"]["38-43"] == 1


def test_thresholds_need_both_time_and_frames():
    summary = SessionSummary()
    # long in time but only 2 sightings (a slow stream's blip)
    summary.update(0.0, [face(1)])
    summary.update(MIN_PERSON_SEEN_S + 1, [face(1)])
    assert summary.to_dict()["people"] == 0
    # many frames but in a fraction of a second (a fast stream's blip)
    for i in range(MIN_PERSON_FRAMES * 2):
        summary.update(10 + i * 0.01, [face(2)])
    assert summary.to_dict()["people"] == 0


def test_unlabelled_track_is_not_a_person():
    summary = SessionSummary()
    feed(summary, [[face(1, classified=False)] for _ in range(int(3 * FPS))])
    assert summary.to_dict() == {"people": 0, "by_gender": {"male": 0, "female": 0, "unsure": 0},
                                 "by_age_group": {**{g: 0 for g in AGE_GROUPS}, "unsure": 0}, "people_list": []}


def test_track_ids_restarting_after_a_reset_are_new_people():
    summary = SessionSummary()
    feed(summary, [[face(1)] for _ in range(30)])
    summary.new_segment()                  # e.g. a looped clip: analyzer.reset(), ids restart at 1
    feed(summary, [[face(1, "male", 0.9)] for _ in range(30)], start_frame=30)
    out = summary.to_dict()
    assert out["people"] == 2 and out["by_gender"] == {"male": 1, "female": 1, "unsure": 0}
    assert summary.record(1).first_s == pytest.approx(2.0)


def test_stills_count_each_labelled_face():
    summary = SessionSummary()
    summary.add_stills([face(None), face(None, "male", 0.7), face(None, classified=False)])
    assert summary.to_dict()["people"] == 2


def test_brief_tracks_are_pruned_but_people_are_kept():
    summary = SessionSummary()
    feed(summary, [[face(1)] for _ in range(30)])
    feed(summary, [[face(2)] for _ in range(2)], start_frame=30)
    feed(summary, [[] for _ in range(400)], start_frame=32)   # 26 s later
    assert summary.record(2) is None and summary.record(1) is not None
    assert summary.to_dict()["people"] == 1


def test_write_summary_is_strict_json_and_atomic(tmp_path):
    summary = SessionSummary()
    feed(summary, [[face(1), face(2, "male", 0.9, 6)] for _ in range(30)])
    path = tmp_path / "sub" / "summary.json"
    write_summary(summary.to_dict(), path)
    text = path.read_text()
    data = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-strict JSON constant {c}"))
    assert data["people"] == 2 and data["by_gender"] == {"male": 1, "female": 1, "unsure": 0}
    assert [p["track_id"] for p in data["people_list"]] == [1, 2]
    assert list(path.parent.iterdir()) == [path]          # no temp file left behind
    bad = summary.to_dict()
    bad["people_list"][0]["gender_prob"] = float("nan")
    with pytest.raises(ValueError):
        write_summary(bad, path)
    assert path.read_text() == text                        # the earlier complete file is intact
    assert list(path.parent.iterdir()) == [path]


def test_summary_csv_has_one_row_per_person(tmp_path):
    summary = SessionSummary()
    feed(summary, [[face(1), face(2, "male", 0.9, 6)] for _ in range(30)])
    path = write_summary(summary.to_dict(), tmp_path / "people.csv")
    lines = path.read_text().splitlines()
    assert len(lines) == 3 and lines[0].startswith("track_id,first_s,last_s,gender")
    assert "p_60-100" in lines[0]
    assert summary_csv(summary.to_dict()) == path.read_text()


def test_a_stream_shorter_than_the_floors_counts_its_tracks_once_it_has_ended():
    """A 2-frame clip (or a photo saved as .mp4) counted 0 people: no track can last 1 s and 5 frames there."""
    summary = SessionSummary()
    face = Face((10, 10, 60, 60), 0.9, 1).with_classification("female", 0.95, np.eye(8, dtype=np.float32)[4])
    summary.update(0.0, [face])
    summary.update(0.04, [face])
    assert summary.to_dict()["people"] == 0                  # while it plays, the floors hold
    assert summary.to_dict(ended=True)["people"] == 1
    long = SessionSummary()
    feed(long, [[face]] * 3 + [[]] * 60)                     # a 3-frame blip in a longer stream stays a blip
    assert long.to_dict(ended=True)["people"] == 0
