"""The About box shows the shipped models' measured figures, read from their metrics files."""
from __future__ import annotations

import json

from core.paths import WEIGHTS_DIR
from gui.about import about_text


def test_about_shows_the_detectors_measured_ap_and_input_size():
    det = json.loads((WEIGHTS_DIR / "face_detector.metrics.json").read_text())
    text = about_text()
    assert f"AP@0.5 {det['ap50_min20px']:.3f}" in text and f"{det['imgsz']} px input" in text


def test_about_shows_the_classifiers_default_setting_figures(monkeypatch, tmp_path):
    cls = json.loads((WEIGHTS_DIR / "age_gender.metrics.json").read_text())
    assert f"gender {cls['gender_acc']:.1%}" in about_text()
    monkeypatch.setattr("gui.about.WEIGHTS", tmp_path)  # no metrics files: say so, do not crash
    assert about_text().count("not evaluated yet") == 2
