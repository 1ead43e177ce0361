"""`detection.evaluate` at the app's own setting: rows, size limits in original pixels, negatives, and NMS."""
from __future__ import annotations

import json
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from detection import evaluate
from detection.onnx_yolo import nms_keep
from tests.conftest import FIXTURES, needs_shipped_weights


class _BoxesDetector:
    """Returns fixed boxes for every image: lets a test know exactly what the evaluation sees."""

    def __init__(self, boxes_scores, weights="fake.onnx"):
        self.boxes_scores = boxes_scores
        self.weights = weights

    def detect(self, image):
        return [SimpleNamespace(box=tuple(map(float, b)), score=s) for b, s in self.boxes_scores]


def _yolo_set(root, size_wh, boxes_xyxy, name="a"):
    """One grey image of size_wh with normalised YOLO labels for boxes_xyxy; returns the image path."""
    w, h = size_wh
    (root / "images" / "val").mkdir(parents=True, exist_ok=True)
    (root / "labels" / "val").mkdir(parents=True, exist_ok=True)
    image = root / "images" / "val" / f"{name}.jpg"
    cv2.imwrite(str(image), np.full((h, w, 3), 90, np.uint8))
    lines = [f"0 {(x1 + x2) / 2 / w} {(y1 + y2) / 2 / h} {(x2 - x1) / w} {(y2 - y1) / h}" for x1, y1, x2, y2 in boxes_xyxy]
    (root / "labels" / "val" / f"{name}.txt").write_text("\n".join(lines) + "\n")
    return image


def test_min_px_counts_original_pixels_not_input_pixels(tmp_path):
    """A 30 px face in a 1280 px frame is 7.5 px at a 320 input: it counts at 20 px in original pixels,
    and is an ignore region under the old at-input measure (why the app's row looked as good as 640)."""
    face = (100, 100, 130, 130)
    image = _yolo_set(tmp_path, (1280, 720), [face])
    missed = _BoxesDetector([])
    original = evaluate.evaluate_row(missed, [image], 20, None)
    at_input = evaluate.evaluate_row(missed, [image], 20, 320)
    assert original["min"].n_positive == 1 and at_input["min"].n_positive == 0
    found = evaluate.evaluate_row(_BoxesDetector([(face, 0.9)]), [image], 20, None)
    metrics, _ = evaluate.summarise(found, "min20px", 0.35)
    assert metrics["ap50_min20px"] == pytest.approx(1.0) and metrics["recall_min20px"] == 1.0


def test_unmatched_small_detection_is_ignored_by_original_size(tmp_path):
    image = _yolo_set(tmp_path, (640, 480), [(10, 10, 60, 60)])
    phantom_small = ((300, 300, 310, 310), 0.95)   # 10 px: below the limit, neither right nor wrong
    phantom_large = ((400, 300, 450, 350), 0.95)   # 50 px: a false positive
    for phantom, precision in ((phantom_small, 1.0), (phantom_large, 0.5)):
        tallies = evaluate.evaluate_row(_BoxesDetector([((10, 10, 60, 60), 0.9), phantom]), [image], 20, None)
        metrics, _ = evaluate.summarise(tallies, "min20px", 0.35)
        assert metrics["precision_min20px"] == pytest.approx(precision)


def test_negatives_count_boxes_the_app_would_show(tmp_path):
    folder = tmp_path / "hands"
    folder.mkdir()
    for k in range(4):
        cv2.imwrite(str(folder / f"{k}.jpg"), np.zeros((48, 64, 3), np.uint8))
    detector = _BoxesDetector([((0, 0, 30, 30), 0.6), ((30, 0, 60, 30), 0.2)])  # one above 0.35, one below
    result = evaluate.count_negatives(detector, folder, conf=0.35)
    assert result["images"] == 4 and result["images_with_box"] == 4 and result["boxes"] == 4
    assert result["boxes_per_image"] == 1.0 and result["highest_scores"][0][1] == 0.6
    assert evaluate.count_negatives(_BoxesDetector([]), folder, 0.35)["images_with_box"] == 0
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="detection.holdout"):
        evaluate.count_negatives(detector, tmp_path / "empty", 0.35)


def test_rows_default_to_the_app_then_640_and_imgsz_keeps_the_old_single_row():
    assert evaluate.parse_args([]).rows == ["app", "640"]
    assert evaluate.parse_args(["--imgsz", "320"]).rows == ["320"]
    assert evaluate.parse_args(["--rows", "app,480,app@416"]).rows == ["app", "480", "app@416"]
    for bad in (["--rows", "app,big"], ["--rows", "app", "--imgsz", "640"], ["--rows", "app@"], ["--rows", "ap@3"]):
        with pytest.raises(SystemExit):
            evaluate.parse_args(bad)


def test_app_row_is_built_as_the_app_builds_its_detector(tiny_onnx_detector_weights):
    from core.config import AppConfig
    config = AppConfig()
    app = evaluate.build_row_detector("app", tiny_onnx_detector_weights, config)
    assert (app.imgsz_px, app.iou, app.tile_above_px) == (config.detector_imgsz_px, config.detection_iou,
                                                          config.detector_tile_above_px)
    bigger = evaluate.build_row_detector("app@416", tiny_onnx_detector_weights, config)
    assert (bigger.imgsz_px, bigger.tile_above_px) == (416, config.detector_tile_above_px)
    fixed = evaluate.build_row_detector("640", tiny_onnx_detector_weights, config)
    assert fixed.imgsz_px == 640 and fixed.tile_above_px == 0
    assert app.confidence == fixed.confidence == evaluate.CURVE_CONFIDENCE


def test_cli_writes_headline_keys_the_about_box_reads(tmp_path, tiny_onnx_detector_weights):
    root = tmp_path / "set"
    _yolo_set(root, (640, 480), [(100, 100, 160, 170)])
    (root / "data.yaml").write_text(f"val: {root / 'images' / 'val'}\nnc: 1\nnames: [face]\n")
    hands = tmp_path / "hands"
    hands.mkdir()
    cv2.imwrite(str(hands / "h.jpg"), np.zeros((64, 64, 3), np.uint8))
    out = tmp_path / "metrics.json"
    assert evaluate.main(["--data", str(root / "data.yaml"), "--weights", str(tiny_onnx_detector_weights),
                          "--speed-frames", "0", "--negatives", str(hands), "--out", str(tmp_path / "eval"),
                          "--write-metrics", str(out)]) == 0
    metrics = json.loads(out.read_text())
    assert metrics["headline_row"] == "app" and set(metrics["rows"]) == {"app", "640"}
    for key in ("ap50_min20px", "ap50_all", "faces_min20px"):  # gui/about.py reads these from the top level
        assert key in metrics
    assert metrics["faces_min20px"] == 1 and metrics["rows"]["app"]["negatives"]["hands"]["images"] == 1
    assert evaluate.main(["--data", "none", "--speed-frames", "0"]) == 2
    assert evaluate.main(["--data", "none", "--negatives", str(tmp_path / "missing")]) == 2


def test_nms_cap_applies_after_suppression():
    """Three overlapping candidates per face, six faces, cap six: OpenCV's top_k before suppression kept
    two faces; every face must survive."""
    xywh = np.array([[i * 100, 0, 50, 50] for i in range(6) for _ in range(3)], float)
    scores = np.array([0.9 - 0.01 * k for k in range(18)])
    keep = nms_keep(xywh, scores, 0.1, 0.5, max_det=6)
    assert sorted(keep.tolist()) == [0, 3, 6, 9, 12, 15]
    assert nms_keep(xywh, scores, 0.1, 0.5, max_det=2).tolist() == [0, 3]  # the cap keeps the best


@needs_shipped_weights()
def test_one_low_confidence_run_gives_the_apps_boxes():
    """The evaluation reads the app's boxes off a run at CURVE_CONFIDENCE: the boxes scoring >= 0.35 must
    be exactly those a run at 0.35 returns, on a plain frame and on a tiled crowd."""
    from detection import FaceDetector
    from tests.test_models import fifty_face_grid
    frames = [cv2.imread(str(FIXTURES / "two_faces.jpg")), fifty_face_grid()]
    low = FaceDetector(confidence=evaluate.CURVE_CONFIDENCE, max_faces=evaluate.AP_MAX_FACES)
    app = FaceDetector(confidence=0.35)
    for frame in frames:
        want = sorted(f.box for f in app.detect(frame))
        got = sorted(f.box for f in low.detect(frame) if f.score >= 0.35)
        assert len(got) == len(want)
        np.testing.assert_allclose(np.array(got), np.array(want), atol=1e-6)


@needs_shipped_weights()
def test_whole_crowd_frame_keeps_every_face_without_tiles():
    """Before the NMS fix one 320 px pass over the 50-face grid found 30: OpenCV's top_k dropped candidates
    before suppression. The model itself finds all of them."""
    from detection import FaceDetector
    from tests.test_models import fifty_face_grid
    assert len(FaceDetector(tile_above_px=0).detect(fifty_face_grid())) >= 48
