"""The About box text: which models run, their measured accuracy (read from the evaluation files), licences."""
from __future__ import annotations

import json

from core.config import DEFAULT_CROP_SCALE
from core.paths import WEIGHTS_DIR as WEIGHTS
from core.labels import SOURCE_NAMES


def _metrics(name: str) -> dict:
    try:
        return json.loads((WEIGHTS / name).read_text())
    except (OSError, ValueError):
        return {}


def _pct(value) -> str:
    return "?" if value is None else f"{value:.1%}"


def _classifier_line(cls: dict) -> str:
    """Held-out figures at the app's default face-extraction size, pooled and per source."""
    if not cls:
        return "not evaluated yet"
    per_scale = cls.get("by_scale", {})
    default = per_scale.get(f"{cls.get('default_crop_scale', DEFAULT_CROP_SCALE):.1f}", {})
    sources = ", ".join(f"{SOURCE_NAMES.get(name, name)} {_pct(m.get('gender_acc'))}" for name, m in default.items()
                        if name != "overall")
    return (f"gender {_pct(cls.get('gender_acc'))} ({sources}), age group within one group "
            f"{_pct(cls.get('one_off_acc'))}, children's age group exact {_pct(cls.get('children_exact_acc'))} "
            f"on held-out faces of every training source; {cls.get('ms_per_face', float('nan')):.1f} ms per face")


def about_text() -> str:
    det, cls = _metrics("face_detector.metrics.json"), _metrics("age_gender.metrics.json")
    det_line = ("not evaluated yet" if not det else
                f"AP@0.5 {det.get('ap50_min20px', float('nan')):.3f} on WIDER val faces ≥ 20 px at the app's "
                f"{det.get('imgsz', '?')} px input "
                f"({det.get('ap50_all', float('nan')):.3f} on all faces), {det.get('ms_per_frame', float('nan')):.0f} ms per 640x480 frame")
    cls_line = _classifier_line(cls)
    return (
        "<h3>Face age &amp; gender</h3>"
        "<p>Finds every face in a camera or video and shows gender and one of the eight Adience age groups.</p>"
        f"<p><b>Detector</b>: YOLOv8n, one class, trained from scratch by this project: {det_line}.</p>"
        f"<p><b>Classifier</b>: InceptionV3 with gender and age-group heads, trained from scratch: {cls_line}.</p>"
        "<p><b>Training data and licences</b>: WIDER FACE (CC BY-NC-ND 4.0), UTKFace (non-commercial research), "
        "FairFace (CC BY 4.0, Kärkkäinen &amp; Joo, WACV 2021), All-Age-Faces (non-commercial research, "
        "Cheng et al. 2019). The models are for non-commercial use. "
        "Age and gender are estimates of appearance, not facts about a person.</p>"
        "<p>Details: weights/face_detector.md and weights/age_gender.md.</p>"
    )
