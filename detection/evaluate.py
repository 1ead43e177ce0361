"""Evaluate a face detector on a YOLO-layout set: `python -m detection.evaluate --help`.

Reports AP at IoU 0.5 over all faces and over faces whose longer side is at least `--min-px` at the
evaluated size (smaller faces become ignore regions: a detection on one is neither right nor wrong,
and, as in COCO's size ranges, an unmatched detection smaller than the limit is ignored too), recall and
precision at the app's default confidence, a precision-recall plot, and ms per 640x480 frame.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from core.geometry import iou_matrix
from core.label_files import folder_images, label_path, read_yolo_boxes
from core.paths import DATASETS_DIR, REPO_ROOT

DEFAULT_DATA = DATASETS_DIR / "wider_face_subset" / "data.yaml"
IOU_MATCH = 0.5


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=str(DEFAULT_DATA), help="YOLO data.yaml")
    p.add_argument("--split", default="val")
    p.add_argument("--weights", default=None, help="detector weights (default: shipped)")
    p.add_argument("--imgsz", type=int, default=640, help="detector input size for this evaluation")
    p.add_argument("--min-px", type=float, default=20.0, help="smallest face (longer side, px at --imgsz) that counts")
    p.add_argument("--conf", type=float, default=None, help="confidence for recall/precision (default: the app's)")
    p.add_argument("--speed-weights", default=None,
                   help="weights to time at the app's input size (default: --weights), e.g. the shipped .onnx "
                        "while --weights is the .pt evaluated at 640")
    p.add_argument("--speed-imgsz", type=int, default=None,
                   help="input size for the timing (default: the app's; a static ONNX file keeps its own)")
    p.add_argument("--speed-frames", type=int, default=30, help="timed 640x480 frames (0: skip)")
    p.add_argument("--out", default=str(REPO_ROOT / "runs" / "eval" / "detector"))
    p.add_argument("--write-metrics", default=None, help="also write the metrics JSON here (e.g. weights/face_detector.metrics.json)")
    return p.parse_args(argv)


def split_folders(data_yaml: Path, split: str) -> list[Path]:
    """The image folders a data.yaml names for `split` (one entry or a list), resolved as ultralytics does."""
    import yaml
    cfg = yaml.safe_load(data_yaml.read_text())
    base = Path(cfg.get("path") or data_yaml.parent)
    entries = cfg[split] if isinstance(cfg[split], list) else [cfg[split]]
    return [Path(entry) if Path(entry).is_absolute() else base / entry for entry in entries]


def image_list(data_yaml: Path, split: str) -> list[Path]:
    return [image for folder in split_folders(data_yaml, split) for image in folder_images(folder)]


def match_image(dets: np.ndarray, scores: np.ndarray, gts: np.ndarray, gt_ignore: np.ndarray,
                det_small: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Greedy matching by score. Returns per-detection labels (1 TP, 0 FP, -1 ignored) and scores."""
    order = np.argsort(-scores)
    dets, scores, det_small = dets[order], scores[order], det_small[order]
    ious = iou_matrix(dets, gts)
    taken = np.zeros(len(gts), bool)
    labels = np.zeros(len(dets), np.int8)
    for i in range(len(dets)):
        best, best_j = IOU_MATCH, -1
        for prefer_counted in (True, False):  # match a counted face first, an ignored one otherwise
            for j in range(len(gts)):
                if taken[j] or gt_ignore[j] == prefer_counted or ious[i, j] < best:
                    continue
                best, best_j = ious[i, j], j
            if best_j >= 0:
                break
        if best_j >= 0:
            taken[best_j] = True
            labels[i] = -1 if gt_ignore[best_j] else 1
        else:
            labels[i] = -1 if det_small[i] else 0
    return labels, scores


def average_precision(labels: np.ndarray, scores: np.ndarray, n_positive: int):
    keep = labels >= 0
    labels, scores = labels[keep], scores[keep]
    order = np.argsort(-scores, kind="stable")
    tp = np.cumsum(labels[order] == 1)
    fp = np.cumsum(labels[order] == 0)
    recall = tp / max(n_positive, 1)
    precision = tp / np.maximum(tp + fp, 1)
    # all-point interpolation (VOC 2010+)
    mrec = np.concatenate([[0.0], recall, [recall[-1] if len(recall) else 0.0]])
    mpre = np.concatenate([[1.0], precision, [0.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    ap = float(np.sum((mrec[1:] - mrec[:-1]) * mpre[1:]))
    return ap, recall, precision, scores[order]


def at_confidence(labels, scores, n_positive, conf):
    sel = (labels >= 0) & (scores >= conf)
    tp, fp = int(np.sum(labels[sel] == 1)), int(np.sum(labels[sel] == 0))
    return tp / max(n_positive, 1), tp / max(tp + fp, 1)


def time_frames(detector, images: list[Path], n_frames: int) -> float:
    frames = [cv2.resize(cv2.imread(str(p)), (640, 480)) for p in images[: max(1, min(n_frames, len(images)))]]
    for f in frames[:3]:
        detector.detect(f)
    times = []
    for i in range(n_frames):
        t0 = time.perf_counter()
        detector.detect(frames[i % len(frames)])
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def time_app_speed(args, images: list[Path]) -> dict:
    """ms per 640x480 frame for --speed-weights (default --weights) at --speed-imgsz (default the app's)."""
    from core.config import AppConfig
    from detection import FaceDetector
    imgsz = args.speed_imgsz or AppConfig().detector_imgsz_px
    detector = FaceDetector(args.speed_weights or args.weights, imgsz_px=imgsz)
    return {"speed_weights": str(detector.weights), "ms_per_frame_imgsz": imgsz,
            "ms_per_frame": time_frames(detector, images, args.speed_frames)}


def plot_pr(curves: dict, out_png: Path, title: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    for name, (rec, prec, ap) in curves.items():
        ax.plot(rec, prec, label=f"{name}: AP {ap:.3f}")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(out_png, dpi=100)
    plt.close(fig)


def main(argv=None) -> int:
    args = parse_args(argv)
    from core.config import AppConfig
    from core.errors import WeightsError
    from detection import FaceDetector
    data = Path(args.data)
    if not data.is_file():
        print(f"error: no data.yaml at {data}; pass --data", file=sys.stderr)
        return 2
    app_conf = args.conf if args.conf is not None else AppConfig().detection_confidence
    images = image_list(data, args.split)
    try:
        # timed before the accuracy model loads: after a .pt model has run in this process, ONNX Runtime
        # was measured a third slower; the app never runs torch beside its ONNX detector
        speed = time_app_speed(args, images) if args.speed_frames else {}
        # trust_checkpoint: this command evaluates the .pt files of our own training runs
        detector = FaceDetector(args.weights, confidence=0.001, imgsz_px=args.imgsz, max_faces=300,
                                trust_checkpoint=True, tile_above_px=0)
    except WeightsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    per_set = {"all": ([], [], 0), f"min{int(args.min_px)}px": ([], [], 0)}
    for image_path in tqdm(images, desc="evaluating", unit="img", mininterval=5):
        image = cv2.imread(str(image_path))
        if image is None:
            continue
        h, w = image.shape[:2]
        gts = read_yolo_boxes(label_path(image_path), w, h)
        faces = detector.detect(image)
        dets = np.array([f.box for f in faces], np.float64).reshape(-1, 4)
        scores = np.array([f.score for f in faces], np.float64)
        to_eval = args.imgsz / max(h, w)  # pixels at the evaluated size
        gt_long = np.maximum(gts[:, 2] - gts[:, 0], gts[:, 3] - gts[:, 1]) * to_eval
        det_long = np.maximum(dets[:, 2] - dets[:, 0], dets[:, 3] - dets[:, 1]) * to_eval
        for name, min_px in (("all", 0.0), (f"min{int(args.min_px)}px", args.min_px)):
            ignore = gt_long < min_px
            labels, sc = match_image(dets, scores, gts, ignore, det_long < min_px)
            lab_list, sc_list, npos = per_set[name]
            lab_list.append(labels)
            sc_list.append(sc)
            per_set[name] = (lab_list, sc_list, npos + int((~ignore).sum()))
    metrics = {"data": str(data), "split": args.split, "images": len(images), "imgsz": args.imgsz,
               "weights": str(detector.weights), "confidence_for_recall": app_conf}
    curves = {}
    for name, (lab_list, sc_list, npos) in per_set.items():
        labels, scores = np.concatenate(lab_list), np.concatenate(sc_list)
        ap, rec, prec, _ = average_precision(labels, scores, npos)
        recall_at, precision_at = at_confidence(labels, scores, npos, app_conf)
        key = "all" if name == "all" else "min20px" if args.min_px == 20 else name
        metrics.update({f"ap50_{key}": ap, f"faces_{key}": npos, f"recall_{key}": recall_at,
                        f"precision_{key}": precision_at})
        curves[name] = (rec, prec, ap)
    metrics.update(speed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    plot_pr(curves, out / f"pr_{data.parent.name}_{args.imgsz}.png",
            f"{data.parent.name} {args.split}, {len(images)} images, imgsz {args.imgsz}")
    text = json.dumps(metrics, indent=1)
    (out / f"metrics_{data.parent.name}_{args.imgsz}.json").write_text(text)
    if args.write_metrics:
        Path(args.write_metrics).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
