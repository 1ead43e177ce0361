"""The About box text: which models run, their measured accuracy (read from the evaluation files), licences."""
from __future__ import annotations

import json

from runtime import REPO_ROOT

WEIGHTS = REPO_ROOT / "weights"


def _metrics(name: str) -> dict:
    try:
        return json.loads((WEIGHTS / name).read_text())
    except (OSError, ValueError):
        return {}


def about_text() -> str:
    det, cls = _metrics("face_detector.metrics.json"), _metrics("age_gender.metrics.json")
    det_line = ("not evaluated yet" if not det else
                f"AP@0.5 {det.get('ap50_min20px', float('nan')):.3f} on WIDER val faces ≥ 20 px "
                f"({det.get('ap50_all', float('nan')):.3f} on all faces), {det.get('ms_per_frame', float('nan')):.0f} ms per 640x480 frame")
    cls_line = ("not evaluated yet" if not cls else
                f"age group {cls.get('exact_acc', float('nan')):.1%} exact, {cls.get('one_off_acc', float('nan')):.1%} "
                f"within one group, gender {cls.get('gender_acc', float('nan')):.1%} on held-out UTKFace faces; "
                f"{cls.get('ms_per_face', float('nan')):.1f} ms per face")
    return (
        "<h3>Face age &amp; gender</h3>"
        "<p>Finds every face in a camera or video and shows gender and one of the eight Adience age groups.</p>"
        f"<p><b>Detector</b>: YOLOv8n, one class, trained from scratch by this project: {det_line}.</p>"
        f"<p><b>Classifier</b>: InceptionV3 with gender and age-group heads, trained from scratch: {cls_line}.</p>"
        "<p><b>Training data and licences</b>: WIDER FACE (CC BY-NC-ND 4.0), UTKFace (non-commercial research), "
        "FairFace (CC BY 4.0, Kärkkäinen &amp; Joo, WACV 2021). The models are for non-commercial use. "
        "Age and gender are estimates of appearance, not facts about a person.</p>"
        "<p>Details: weights/face_detector.md and weights/age_gender.md.</p>"
    )
