"""Evaluate a face detector on a YOLO-layout set: `python -m detection.evaluate --help`.

Rows: by default two. The headline row `app` runs the detector exactly as the app builds it
(`core.config.AppConfig`: the shipped ONNX file through `detection.FaceDetector`, the app's input size
as a stride-multiple rectangle, its NMS overlap, and its tiling of frames over `detector_tile_above_px`);
the second row runs the same file at a fixed 640 px input without tiles, the size earlier figures used.
`--imgsz N` alone gives one fixed-size row, as this command did before.

Reports AP at IoU 0.5 over all faces and over faces whose longer side is at least `--min-px` pixels in the
ORIGINAL image (smaller faces become ignore regions: a detection on one is neither right nor wrong, and,
as in COCO's size ranges, an unmatched detection smaller than the limit is ignored too), recall and
precision at the app's confidence, a precision-recall plot, ms per 640x480 frame, and, with
`--negatives FOLDER`, how many boxes the app would show on face-free images (hands, textures).

Why the size limit is in original pixels: until this session it was measured at the evaluated input
size, so "faces >= 20 px" at 320 meant faces >= 40 px in a 640 px image, and the app's own row looked as
good as the 640 px one while it missed many 20-40 px faces (issue 19). `--min-px-at-input` restores the
old measure to reproduce old figures.

Why one low-confidence run serves both AP and the app's confidence c (`AppConfig.detection_confidence`):
the ONNX path keeps scores >= the confidence and then runs greedy NMS, so every box scoring >= c is
suppressed only by higher-scoring boxes; the boxes >= c of a run at 0.001 are therefore the boxes a run at
c returns (the tiled merge works the same way), as long as fewer than `AP_MAX_FACES` boxes pass (the app
caps at `max_faces`).
`tests/test_detection_evaluate.py` checks this on a real image.
"""
from __future__ import annotations

import json
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from core.cli import OneLineParser, check_writable, check_writable_folder, number_in, positive, run_tool
from core.geometry import iou_matrix
from core.images import WEBCAM_FRAME_WH_PX
from core.paths import DATASETS_DIR, EVAL_DIR
from detection.yolo_files import folder_images, label_path, read_yolo_boxes, split_folders

DEFAULT_DATA = DATASETS_DIR / "wider_face_subset" / "data.yaml"
IOU_MATCH = 0.5
APP_ROW = "app"                  # the row that runs the detector as the app builds it
DEFAULT_ROWS = f"{APP_ROW},640"  # headline first: the About box and --write-metrics show the first row
CURVE_CONFIDENCE = 0.001         # detections kept for the precision-recall curve
AP_MAX_FACES = 300               # boxes kept per image for the curve (WIDER val has up to ~250 faces)


def parse_args(argv=None):
    p = OneLineParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=str(DEFAULT_DATA), help="YOLO data.yaml ('none': only --negatives)")
    p.add_argument("--split", default="val")
    p.add_argument("--weights", default=None, help="detector weights (default: shipped)")
    p.add_argument("--rows", default=None,
                   help=f"comma-separated rows: '{APP_ROW}' (the app's own setting), '{APP_ROW}@N' (the app's "
                        f"setting at input size N: what raising AppConfig.detector_imgsz_px would give) or a fixed "
                        f"input size in px without tiles (default: {DEFAULT_ROWS}); the first row is the headline")
    p.add_argument("--imgsz", type=positive(int), default=None,
                   help="one fixed-size row at this input size, no tiles (the command's old behaviour)")
    p.add_argument("--min-px", type=number_in(0, 100_000), default=20.0,
                   help="smallest face that counts: longer side in px of the ORIGINAL image")
    p.add_argument("--min-px-at-input", action="store_true",
                   help="measure --min-px at the evaluated input size instead (figures before issue 19)")
    p.add_argument("--conf", type=number_in(0, 1), default=None,
                   help="confidence for recall/precision (default: the app's)")
    p.add_argument("--negatives", action="append", default=[],
                   help="folder of face-free images (hands, textures): count the boxes the app would show; "
                        "may be given more than once")
    p.add_argument("--speed-weights", default=None,
                   help="weights to time at the app's input size (default: --weights), e.g. the shipped .onnx "
                        "while --weights is the .pt evaluated at 640")
    p.add_argument("--speed-imgsz", type=positive(int), default=None,
                   help="input size for the timing (default: the app's; a static ONNX file keeps its own)")
    p.add_argument("--speed-frames", type=number_in(0, 1_000_000, int), default=30,
                   help="timed 640x480 frames (0: skip)")
    p.add_argument("--out", default=str(EVAL_DIR / "detector"))
    p.add_argument("--write-metrics", default=None,
                   help="also write the metrics JSON here (e.g. weights/face_detector.metrics.json); a file "
                        "already there is kept unless --overwrite")
    p.add_argument("--overwrite", action="store_true", help="replace the file at --write-metrics")
    p.add_argument("--trust-checkpoints", action="store_true",
                   help="allow .pt weights (our own training runs): loading a .pt runs code stored in it, so pass "
                        "this only for files you made yourself")
    args = p.parse_args(argv)
    if args.imgsz is not None and args.rows is not None:
        p.error("give --rows or --imgsz, not both")
    rows = [str(args.imgsz)] if args.imgsz is not None else (args.rows or DEFAULT_ROWS).split(",")
    args.rows = [r.strip() for r in rows if r.strip()]
    for row in args.rows:
        size = row[len(APP_ROW) + 1:] if row.startswith(APP_ROW + "@") else row
        if not (row == APP_ROW or (size.isdigit() and int(size) > 0)):
            p.error(f"--rows: '{row}' is neither '{APP_ROW}' nor an input size in px (e.g. {DEFAULT_ROWS})")
    return args


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
    frames = [cv2.resize(cv2.imread(str(p)), WEBCAM_FRAME_WH_PX) for p in images[: max(1, min(n_frames, len(images)))]]
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
    from detection import FaceDetector
    from core.config import AppConfig
    imgsz = args.speed_imgsz or AppConfig().detector_imgsz_px
    detector = FaceDetector(args.speed_weights or args.weights, imgsz_px=imgsz,
                            trust_checkpoint=args.trust_checkpoints)
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


def row_imgsz(row: str, config) -> int:
    """The input size of a row: 'app' -> the app's, 'app@416' -> 416, '640' -> 640."""
    if row == APP_ROW:
        return config.detector_imgsz_px
    return int(row.split("@")[-1])


def build_row_detector(row: str, weights, config, trust_checkpoint: bool = False):
    """The detector of one row, keeping CURVE_CONFIDENCE so that one run gives the whole PR curve.

    `app`: every other setting as `pipeline.analyzer.FaceAnalyzer` builds it from `config` (input size,
    NMS overlap, threads, tiling of large frames). A number: that fixed input size, no tiles.
    trust_checkpoint: the .pt files of our own training runs, only with --trust-checkpoints (loading a .pt
    runs code stored in it; this command used to load any .pt it was given).
    """
    from detection import FaceDetector
    if row.startswith(APP_ROW):
        return FaceDetector(weights, confidence=CURVE_CONFIDENCE, iou=config.detection_iou,
                            imgsz_px=row_imgsz(row, config), max_faces=AP_MAX_FACES, threads=config.threads,
                            trust_checkpoint=trust_checkpoint, tile_above_px=config.detector_tile_above_px)
    return FaceDetector(weights, confidence=CURVE_CONFIDENCE, imgsz_px=int(row), max_faces=AP_MAX_FACES,
                        trust_checkpoint=trust_checkpoint, tile_above_px=0)


@dataclass
class RowTally:
    """Per-detection labels and scores of one row over a set, for one size limit."""
    labels: list
    scores: list
    n_positive: int = 0


def long_sides(boxes: np.ndarray) -> np.ndarray:
    return np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]) if len(boxes) else np.zeros(0)


def evaluate_row(detector, images: list[Path], min_px: float, min_px_at_input_px: int | None,
                 desc: str = "evaluating") -> dict[str, RowTally]:
    """Match one detector's boxes to the labels of every image; returns tallies for 'all' and 'min'.

    min_px_at_input_px: None measures face sizes in original-image pixels; a number measures them at
    that input size (the longer image side scaled to it), the measure used before issue 19.
    """
    tallies = {"all": RowTally([], []), "min": RowTally([], [])}
    for image_path in tqdm(images, desc=desc, unit="img", mininterval=5):
        image = cv2.imread(str(image_path))
        if image is None:
            print(f"skipping unreadable {image_path}", file=sys.stderr)
            continue
        h, w = image.shape[:2]
        gts = read_yolo_boxes(label_path(image_path), w, h)
        faces = detector.detect(image)
        dets = np.array([f.box for f in faces], np.float64).reshape(-1, 4)
        scores = np.array([f.score for f in faces], np.float64)
        scale = 1.0 if min_px_at_input_px is None else min_px_at_input_px / max(h, w)
        gt_long, det_long = long_sides(gts) * scale, long_sides(dets) * scale
        for name, limit in (("all", 0.0), ("min", min_px)):
            ignore = gt_long < limit
            labels, sc = match_image(dets, scores, gts, ignore, det_long < limit)
            tally = tallies[name]
            tally.labels.append(labels)
            tally.scores.append(sc)
            tally.n_positive += int((~ignore).sum())
    return tallies


def summarise(tallies: dict[str, RowTally], min_key: str, conf: float) -> tuple[dict, dict]:
    """AP, face count, recall and precision at `conf` per size limit; and the PR curves for the plot."""
    metrics, curves = {}, {}
    for name, tally in tallies.items():
        labels = np.concatenate(tally.labels) if tally.labels else np.zeros(0, np.int8)
        scores = np.concatenate(tally.scores) if tally.scores else np.zeros(0)
        ap, rec, prec, _ = average_precision(labels, scores, tally.n_positive)
        recall_at, precision_at = at_confidence(labels, scores, tally.n_positive, conf)
        key = "all" if name == "all" else min_key
        metrics.update({f"ap50_{key}": ap, f"faces_{key}": tally.n_positive, f"recall_{key}": recall_at,
                        f"precision_{key}": precision_at})
        curves[key] = (rec, prec, ap)
    return metrics, curves


def count_negatives(detector, folder: Path, conf: float, desc: str = "negatives") -> dict:
    """Boxes scoring >= conf on images that hold no face: every one is a box the app would draw.

    Why per image as well as in total: a phantom that shows on many frames is worse than many phantoms
    on one frame, and the target is no box on any image.
    """
    images = folder_images(folder)
    if not images:
        raise FileNotFoundError(f"no images in {folder}: build the set with `python -m detection.holdout` "
                                f"or pass a folder of face-free images")
    boxes, with_box, worst = 0, [], []
    for path in tqdm(images, desc=desc, unit="img", mininterval=5):
        image = cv2.imread(str(path))
        if image is None:
            print(f"skipping unreadable {path}", file=sys.stderr)
            continue
        scores = [f.score for f in detector.detect(image) if f.score >= conf]
        boxes += len(scores)
        if scores:
            with_box.append(path.name)
            worst.append((max(scores), path.name))
    worst.sort(reverse=True)
    return {"folder": str(folder), "images": len(images), "images_with_box": len(with_box),
            "boxes": boxes, "boxes_per_image": boxes / len(images),
            "highest_scores": [[name, round(score, 3)] for score, name in worst[:10]]}


def dataset_name(data: Path) -> str:
    return data.parent.name if data.stem == "data" else data.stem


def main(argv=None) -> int:
    args = parse_args(argv)
    from core.config import AppConfig
    from core.errors import WeightsError
    config = AppConfig()
    # the weights first, before anything is read or evaluated: a missing or unsafe file used to be named only
    # after the data checks, or after the whole evaluation
    from detection.detector import check_detector_file
    for weights in sorted({w for w in (args.weights, args.speed_weights) if w}):
        check_detector_file(Path(weights), args.trust_checkpoints)
    use_data = args.data.lower() != "none"
    data = Path(args.data)
    if use_data and not data.is_file():
        print(f"error: no data.yaml at {data}; pass --data (or --data none with --negatives)", file=sys.stderr)
        return 2
    if not use_data and not args.negatives:
        print("error: --data none leaves nothing to evaluate; add --negatives FOLDER", file=sys.stderr)
        return 2
    for folder in args.negatives:
        if not Path(folder).is_dir():
            print(f"error: no negatives folder at {folder}; build it with `python -m detection.holdout`",
                  file=sys.stderr)
            return 2
        if not folder_images(Path(folder)):
            print(f"error: no images in {folder}: build the set with `python -m detection.holdout` or pass a "
                  f"folder of face-free images", file=sys.stderr)
            return 2
    if Path(args.out).exists() and not Path(args.out).is_dir():
        print(f"error: --out {args.out} is a file; pass a folder for the plots and metrics", file=sys.stderr)
        return 2
    if args.write_metrics:
        check_writable(args.write_metrics, args.overwrite)
    check_writable_folder(args.out)   # before the rows are evaluated
    app_conf = args.conf if args.conf is not None else config.detection_confidence
    images = image_list(data, args.split) if use_data else []
    min_key = "min20px" if args.min_px == 20 else f"min{args.min_px:g}px"
    try:
        # timed before the accuracy model loads: after a .pt model has run in this process, ONNX Runtime
        # was measured a third slower; the app never runs torch beside its ONNX detector
        speed = time_app_speed(args, images) if args.speed_frames and images else {}
        detectors = {row: build_row_detector(row, args.weights, config, args.trust_checkpoints)
                     for row in args.rows}
    except WeightsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    rows, all_curves = {}, {}
    for row, detector in detectors.items():
        imgsz = row_imgsz(row, config)
        result = {"setting": (f"app: AppConfig NMS overlap and tiling above {config.detector_tile_above_px} px, "
                              f"input {imgsz} px" if row.startswith(APP_ROW) else "fixed input, no tiles"),
                  "imgsz": imgsz, "weights": str(detector.weights), "confidence_for_recall": app_conf,
                  "min_px_measured_in": "input" if args.min_px_at_input else "original image"}
        if images:
            tallies = evaluate_row(detector, images, args.min_px, imgsz if args.min_px_at_input else None,
                                   desc=f"row {row}")
            metrics, curves = summarise(tallies, min_key, app_conf)
            result.update(metrics)
            all_curves.update({f"{row} {key}": curve for key, curve in curves.items()})
        if args.negatives:
            result["negatives"] = {Path(folder).name: count_negatives(detector, Path(folder), app_conf,
                                                                      desc=f"negatives {row}")
                                   for folder in args.negatives}
        rows[row] = result
    headline = rows[args.rows[0]]
    metrics = {"data": str(data) if use_data else None, "split": args.split, "images": len(images),
               "headline_row": args.rows[0], **{k: v for k, v in headline.items() if k != "negatives"},
               "rows": rows}
    metrics.update(speed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = dataset_name(data) if use_data else "negatives"
    suffix = "_".join(args.rows)
    if all_curves:
        plot_pr(all_curves, out / f"pr_{name}_{suffix}.png",
                f"{name} {args.split}, {len(images)} images, rows {', '.join(args.rows)}")
    text = json.dumps(metrics, indent=1)
    (out / f"metrics_{name}_{suffix}.json").write_text(text)
    if args.write_metrics:
        Path(args.write_metrics).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(run_tool(main))
