"""The benchmark's label-stability measure: what counts as a shown-label change, and cuts in identities."""
import numpy as np

from bench.bench import (changes_by_part, count_label_changes, jittered, label_changes_per_minute,
                         label_transitions, shown_label)
from core.face import TOO_SMALL, Face

BOX = (10, 10, 60, 60)


def face(gender="female", prob=0.95, age=4, age_prob=0.9, **kw):
    probs = np.full(8, (1 - age_prob) / 7)
    probs[age] = age_prob
    return Face(BOX, 0.9, **kw).with_classification(gender, prob, probs)


def test_shown_label_is_the_tag_without_percentages():
    assert shown_label(face()) == ("female", "25-32")
    assert shown_label(face(prob=0.6)) == ("?", "25-32")
    assert shown_label(Face(BOX, 0.9, unjudgeable=TOO_SMALL)) == (TOO_SMALL,)
    assert shown_label(Face(BOX, 0.9)) is None  # not labelled yet: not counted


def test_changes_count_answers_question_marks_and_markers_but_not_probabilities():
    frames = [[face(prob=0.95)], [face(prob=0.9)], [face(prob=0.6)], [face()], [Face(BOX, 0.9)], [face()]]
    changes, person_frames = count_label_changes(frames)
    assert (changes, person_frames) == (2, 5)  # F -> ? -> F; the unlabelled frame is skipped
    assert label_changes_per_minute(frames, fps=5.0) == 2 / (5 / 5.0 / 60)


def test_each_change_is_attributed_to_the_parts_of_the_tag_it_touched():
    frames = [[face()], [face(prob=0.6)], [face(prob=0.6, age=5)], [face("male", age=3)],
              [Face(BOX, 0.9, unjudgeable=TOO_SMALL)], [face("male", age=3)]]
    transitions, _ = label_transitions(frames)
    assert len(transitions) == count_label_changes(frames)[0] == 5
    # F -> ? (gender); 25-32 -> 38-43 (age); ? 38-43 -> M 15-20 (both); to a marker and back (marker)
    assert changes_by_part(transitions) == {"gender": 2, "age": 2, "marker": 2}


def test_a_known_cut_starts_new_identities():
    frames = [[face("male", age=5)]] * 3 + [[face("female")]] * 3
    assert count_label_changes(frames)[0] == 1
    assert count_label_changes(frames, cut_frames={3})[0] == 0  # a new person, not a changed label


def test_jitter_keeps_frames_and_is_repeatable():
    frames = [np.full((48, 64, 3), 120, np.uint8)] * 4
    a, b = jittered(frames, seed=1), jittered(frames, seed=1)
    assert len(a) == 4 and all(x.shape == (48, 64, 3) for x in a)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))


def test_real_clips_total_weights_answered_shares_by_judged_person_minutes():
    from bench.bench import STABILITY_MODES, real_clips_total

    def run(changes, minutes, gender, age, marker):
        return {"label_changes": changes, "person_minutes": minutes, "gender_answered": gender,
                "age_answered": age, "unjudgeable": marker}
    rows = [{mode: run(1, 1.0, 1.0, 0.5, 0.0) for mode in STABILITY_MODES},
            {mode: run(2, 2.0, 0.25, 1.0, 0.5) for mode in STABILITY_MODES},    # half its frames marked
            {mode: run(0, 0.5, None, None, 1.0) for mode in STABILITY_MODES}]   # all marked: no answers
    rows[0]["app"]["label_changes_by_part"] = {"gender": 1, "age": 0, "marker": 0}   # files before it lack the key
    total = real_clips_total(rows)["app"]
    assert total["label_changes"] == 3 and total["person_minutes"] == 3.5
    assert abs(total["label_changes_per_min"] - 3 / 3.5) < 1e-9
    assert abs(total["gender_answered"] - (1.0 * 1 + 0.25 * 1) / 2) < 1e-9   # judged minutes 1 and 1
    assert abs(total["age_answered"] - (0.5 + 1.0) / 2) < 1e-9
    assert total["label_changes_by_part"] == {"gender": 1, "age": 0, "marker": 0}
