"""Evaluate the age-group + gender classifier on held-out faces: `python -m classification.evaluate --help`.

Held-out data is the fixed 'test' split of `facedata.datasets.split_name` of every training source
(10% of UTKFace, FairFace and All-Age-Faces by a hash of the file name or person; never trained on).
`--split val` measures the 5% validation split instead: the place to choose between candidates (a
weight average, an epoch) so that the test split only says yes or no to the one chosen. Each face is
cut exactly as the app cuts it: `square_crop` of the original image around the box the app's detector
finds (stored in the face cache; found afresh where the cache lacks it), at several face-extraction
sizes across the slider's range. Reported per source, per slider setting and pooled:
* exact-age sources (UTKFace, All-Age-Faces): exact and 1-off (within one group) age-group accuracy on
  faces whose age lies inside an Adience group, children (0-12) exact, per-group recall, a confusion
  matrix plot; the same with gap ages snapped to the nearest group;
* FairFace (age ranges): how often the predicted group overlaps the annotated range, and 1-off (within
  one group of a group that overlaps it);
* gender accuracy, overall and by age group;
* Adience (`--adience PATH`, the real fold files + images): exact, 1-off and gender accuracy;
* speed: ms per face at batch 1 in the app's runtime.
"""
from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from classification.cache import (CACHE_DETECTOR_CONFIDENCE, SOURCES, cache_crop, cache_scale, expected_box,
                                  face_box, load_cache, load_labels)
from core.cli import OneLineParser, check_writable, check_writable_folder, number_in, refuse_existing, run_tool
from core.config import CROP_SCALE_RANGE
from core.crop import square_crop
from core.labels import AGE_GROUPS, AGE_GROUP_BOUNDS_YEARS, NUM_AGE_GROUPS, hard_group, nearest_group
from core.paths import DATASETS_DIR, EVAL_DIR, EXTRA_DATA_DIR, FACE_CACHE_DIR
from facedata.datasets import HELD_OUT_SPLITS

# Slider settings evaluated: the ends of the range, the app's default, and points between to choose it.
EVAL_SCALES = (1.0, 1.2, 1.4, 1.6, 1.8, 2.0)
CHILD_GROUPS = (0, 1, 2)  # 0-2, 4-6, 8-12
PER_FACE_FILE = "per_face.npz"  # beside metrics.json: every face's outcome per figure and setting (face_outcomes)
EXACT_AGE_SOURCES = ("utkface", "aaf")


def parse_args(argv=None):
    p = OneLineParser(description=__doc__.splitlines()[0])
    p.add_argument("--weights", default=None, help=".tflite or .keras (default: shipped)")
    p.add_argument("--datasets", default=str(DATASETS_DIR))
    p.add_argument("--extra", default=str(EXTRA_DATA_DIR), help="fetched data (MORE_DATA.md)")
    p.add_argument("--cache", default=str(FACE_CACHE_DIR),
                   help="face cache whose stored detector boxes are reused (classification.cache)")
    p.add_argument("--adience", default=None, help="folder with fold_N_data.txt and faces/ or aligned/")
    p.add_argument("--scales", default=",".join(str(s) for s in EVAL_SCALES),
                   help="comma-separated face-extraction sizes to evaluate")
    p.add_argument("--limit", type=number_in(0, 10**9, int), default=0, help="evaluate at most N faces per source (0: all)")
    p.add_argument("--split", choices=HELD_OUT_SPLITS, default="test",
                   help="test: the shipping gate; val: choosing between candidates before the gate")
    p.add_argument("--crops-from-cache", action="store_true",
                   help="cut each crop from the face cache (--cache) as training does, not from the original "
                        "image as the app does: what the cache's resolution costs")
    p.add_argument("--no-mirror", action="store_true",
                   help="classify each crop once, without the mirrored copy the app averages in")
    p.add_argument("--speed-runs", type=number_in(0, 10**6, int), default=100, help="timed batch-1 runs (0: skip)")
    p.add_argument("--out", default=str(EVAL_DIR / "classifier"))
    p.add_argument("--write-metrics", default=None,
                   help="also write the metrics JSON here (an existing file only with --overwrite: shipping a model)")
    p.add_argument("--overwrite", action="store_true", help="replace the file at --write-metrics and an earlier evaluation in --out")
    return p.parse_args(argv)


def cached_boxes(labels: dict) -> dict[str, tuple[tuple[float, ...], bool]]:
    """{image path: (detector box, whether the detector found it)} from a face cache's labels, or {}."""
    if "box" not in labels:
        return {}
    return {str(p): (tuple(float(v) for v in b), bool(f))
            for p, b, f, k in zip(labels["path"], labels["box"], labels["box_found"], labels["keep"]) if k}


def held_out_faces(samples, boxes: dict, limit: int = 0, split: str = "test"):
    """One held-out split of each source with the box the app's detector gives it: [(sample, box, found)]."""
    from facedata.datasets import split_name
    detector = None
    faces, per_source = [], {}
    for sample in samples:
        if split_name(sample) != split or (limit and per_source.get(sample.source, 0) >= limit):
            continue
        if sample.path in boxes:
            box, found = boxes[sample.path]
        else:
            if detector is None:
                from detection import FaceDetector
                detector = FaceDetector(confidence=CACHE_DETECTOR_CONFIDENCE)
            image = cv2.imread(sample.path, cv2.IMREAD_COLOR)
            if image is None:
                continue
            box, found = face_box(sample, image, detector)
        faces.append((sample, box, found))
        per_source[sample.source] = per_source.get(sample.source, 0) + 1
    return faces


class ImageCrops:
    """Crops cut from the original image around the detector's box with `square_crop`, as the app cuts them."""

    def read(self, sample, box):
        """(image, box) or None where the image cannot be read; no box: the dataset's own (`expected_box`)."""
        image = cv2.imread(sample.path, cv2.IMREAD_COLOR)
        if image is None:
            return None
        return image, box if box is not None else expected_box(sample, image.shape[1], image.shape[0])

    def cut(self, face, scale: float, size_px: int) -> np.ndarray:
        image, box = face
        return square_crop(image, box, scale, size_px)


class CacheCrops:
    """Crops cut from a face cache's squares as training cuts them (`cache_crop`): what the cache costs."""

    def __init__(self, images: np.ndarray, rows: dict[str, int], cache_scale: float):
        self.images, self.rows, self.cache_scale = images, rows, cache_scale

    def read(self, sample, box):
        """The cached square, or None where the face is not in the cache."""
        row = self.rows.get(sample.path)
        return None if row is None else self.images[row]

    def cut(self, face, scale: float, size_px: int) -> np.ndarray:
        return cache_crop(face, self.cache_scale, scale, size_px)


def predict_at_scales(classifier, faces, scales, batch: int = 32, crops=None):
    """(faces kept, {scale: (gender predictions 0/1, age probabilities)}); faces `crops` cannot read are dropped.

    `crops`: where each crop comes from, `ImageCrops()` (the default: the original image, as the app
    cuts it) or `CacheCrops` (the face cache, as training cuts it). A face's box may be None: the
    dataset's own box in the image as read.
    """
    crops = crops or ImageCrops()
    kept, gender = [], {s: [] for s in scales}
    probs = {s: [] for s in scales}
    for start in tqdm(range(0, len(faces), batch), desc="classifying", unit="batch", mininterval=10):
        readable = []
        for sample, box, found in faces[start:start + batch]:
            face = crops.read(sample, box)
            if face is not None:
                readable.append(face)
                kept.append((sample, found))
        for scale in scales:
            batch_crops = [crops.cut(face, scale, classifier.input_size_px) for face in readable]
            for result in classifier.predict(batch_crops):
                gender[scale].append(0 if result.gender == "male" else 1)
                probs[scale].append(result.age_probs)
    return kept, {s: (np.array(gender[s], int), np.array(probs[s]).reshape(-1, NUM_AGE_GROUPS)) for s in scales}


def age_metrics(true_groups: np.ndarray, pred_groups: np.ndarray) -> dict:
    diff = np.abs(true_groups - pred_groups)
    confusion = np.zeros((NUM_AGE_GROUPS, NUM_AGE_GROUPS), np.int64)
    np.add.at(confusion, (true_groups, pred_groups), 1)
    recall = confusion.diagonal() / np.maximum(confusion.sum(axis=1), 1)
    return {"exact_acc": _mean(diff == 0), "one_off_acc": _mean(diff <= 1),
            "per_group_recall": {g: float(r) for g, r in zip(AGE_GROUPS, recall)},
            "confusion": confusion.tolist(), "faces": int(len(true_groups))}


def overlaps_range(group: int, age_range) -> bool:
    lo, hi = AGE_GROUP_BOUNDS_YEARS[group]
    return not (hi < age_range[0] or lo > age_range[1])


def within_one_of_range(group: int, age_range) -> bool:
    """The predicted group overlaps the annotated range, or is next to a group that does."""
    return any(overlaps_range(g, age_range) for g in range(max(group - 1, 0), min(group + 2, len(AGE_GROUPS))))


def _mean(values) -> float | None:
    values = np.asarray(values)
    return float(values.mean()) if values.size else None


def face_outcomes(samples, gender_pred: np.ndarray, age_probs: np.ndarray) -> dict[str, np.ndarray]:
    """Per face, for each headline figure: 1.0 right, 0.0 wrong, NaN where the face does not count for it
    (an unknown gender; an age between groups; not a child). Each figure is the mean of its non-NaN
    entries; kept per face so that two models can be compared face by face (`classification.compare --paired`)."""
    pred = age_probs.argmax(axis=1)
    gender_true = np.array([s.gender for s in samples])
    out = {"gender_acc": np.where(gender_true >= 0, (gender_pred == gender_true).astype(float), np.nan)}
    ages = np.array([s.age_years for s in samples], float)
    if np.all(np.isfinite(ages)):
        true = np.array([hard_group(a) if hard_group(a) is not None else -1 for a in ages])
        in_group = true >= 0
        diff = np.abs(true - pred)
        out["exact_acc"] = np.where(in_group, (diff == 0).astype(float), np.nan)
        out["one_off_acc"] = np.where(in_group, (diff <= 1).astype(float), np.nan)
        out["children_exact_acc"] = np.where(in_group & np.isin(true, CHILD_GROUPS), (diff == 0).astype(float), np.nan)
    else:
        out["one_off_acc"] = np.array([within_one_of_range(p, s.age_range_years) for p, s in zip(pred, samples)], float)
    return out


def _nanmean(values: np.ndarray) -> float | None:
    counted = values[np.isfinite(values)]
    return float(counted.mean()) if counted.size else None


def source_metrics(samples, gender_pred: np.ndarray, age_probs: np.ndarray,
                   outcomes: dict[str, np.ndarray] | None = None) -> dict:
    """Every reported figure for one source at one slider setting; `outcomes`: its `face_outcomes`, where
    the caller has them already."""
    pred = age_probs.argmax(axis=1)
    gender_true = np.array([s.gender for s in samples])
    known = gender_true >= 0
    main_group = np.array([int(np.argmax(s.age_soft)) for s in samples])
    if outcomes is None:
        outcomes = face_outcomes(samples, gender_pred, age_probs)
    m = {"faces": len(samples), "gender_acc": _nanmean(outcomes["gender_acc"]),
         "gender_acc_by_age_group": {name: _mean(gender_pred[known & (main_group == i)] == gender_true[known & (main_group == i)])
                                     for i, name in enumerate(AGE_GROUPS) if np.any(known & (main_group == i))}}
    ages = np.array([s.age_years for s in samples], float)
    if np.all(np.isfinite(ages)):
        in_group = np.isfinite(outcomes["exact_acc"])
        true = np.array([hard_group(a) if hard_group(a) is not None else -1 for a in ages])
        strict = age_metrics(true[in_group], pred[in_group])
        snapped = age_metrics(np.array([nearest_group(a) for a in ages]), pred)
        m.update({"in_group_faces": int(in_group.sum()), "exact_acc": _nanmean(outcomes["exact_acc"]),
                  "one_off_acc": _nanmean(outcomes["one_off_acc"]),
                  "children_faces": int(np.isfinite(outcomes["children_exact_acc"]).sum()),
                  "children_exact_acc": _nanmean(outcomes["children_exact_acc"]),
                  "exact_acc_gap_ages_snapped": snapped["exact_acc"],
                  "one_off_acc_gap_ages_snapped": snapped["one_off_acc"],
                  "per_group_recall": strict["per_group_recall"], "confusion": strict["confusion"]})
    else:
        ranges = [s.age_range_years for s in samples]
        m.update({"age_group_overlaps_annotated_range": _mean([overlaps_range(p, r) for p, r in zip(pred, ranges)]),
                  "one_off_acc": _nanmean(outcomes["one_off_acc"])})
    return m


def pooled_metrics(per_source: dict, counts: dict) -> dict:
    """Face-weighted means of the figures the sources share (gender, 1-off, children exact)."""
    pooled = {}
    for key, weight_key in (("gender_acc", "faces"), ("one_off_acc", None), ("children_exact_acc", "children_faces")):
        num = den = 0.0
        for name, m in per_source.items():
            if m.get(key) is None:
                continue
            w = m.get(weight_key) if weight_key else m.get("in_group_faces", counts[name])
            num, den = num + m[key] * w, den + w
        pooled[key] = num / den if den else None
    return pooled


def time_batch1(classifier, runs: int) -> float:
    crop = np.random.default_rng(0).integers(0, 255, (classifier.input_size_px,) * 2 + (3,), dtype=np.uint8)
    for _ in range(5):
        classifier.predict([crop])
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        classifier.predict([crop])
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def _json_safe(value):
    """NaN-free JSON: non-finite floats become null."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def main(argv=None) -> int:
    args = parse_args(argv)
    from classification import AgeGenderClassifier
    from facedata.datasets import read_adience, read_training_sources
    from classification.plots import plot_confusion
    from core.config import AppConfig
    from core.errors import WeightsError
    try:
        scales = tuple(float(s) for s in args.scales.split(","))
    except ValueError:
        print(f"error: --scales takes numbers separated by commas, not {args.scales!r}", file=sys.stderr)
        return 2
    low, high = CROP_SCALE_RANGE
    if not all(low <= s <= high for s in scales):   # NaN fails this too
        print(f"error: --scales {args.scales}: every face-extraction size must lie in the slider's {low}-{high}",
              file=sys.stderr)
        return 2
    check_writable_folder(args.out)   # here, not after the evaluation
    refuse_existing(Path(args.out) / "metrics.json", args.overwrite)   # an earlier evaluation there is kept
    if args.write_metrics:
        check_writable(args.write_metrics, args.overwrite)   # before the work, not after it
    default_scale = AppConfig().crop_scale
    if default_scale not in scales:
        scales = tuple(sorted(scales + (default_scale,)))
    try:
        # trust_checkpoint: our own training runs' .keras files
        clf = AgeGenderClassifier(args.weights, trust_checkpoint=True, mirror_average=not args.no_mirror)
    except WeightsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    metrics = {"weights": str(clf.weights), "input_size_px": clf.input_size_px, "default_crop_scale": default_scale,
               "mirror_average": clf.mirror_average,
               "split": f"facedata.datasets.split_name == {args.split!r} (sha1 of source:file name or person, "
                        f"{HELD_OUT_SPLITS[args.split]})",
               "crops": "square_crop around the app detector's box (classification.cache.face_box)"}
    crops = None
    if args.crops_from_cache:
        try:
            images, labels = load_cache(args.cache)
        except FileNotFoundError:
            print(f"error: no face cache at {args.cache}: build one with `python -m classification.cache` or "
                  f"leave out --crops-from-cache", file=sys.stderr)
            return 2
        crops = CacheCrops(images, {str(p): i for i, (p, k) in enumerate(zip(labels["path"], labels["keep"])) if k},
                           cache_scale(args.cache))
        metrics["crops"] = (f"the centre of the face cache's {images.shape[1]} px square at slider {crops.cache_scale} "
                            f"(as training cuts them), around the same detector box")
    else:
        labels = load_labels(args.cache)

    faces = held_out_faces(read_training_sources(args.datasets, args.extra), cached_boxes(labels), args.limit,
                           args.split)
    if not faces and not args.adience:
        print(f"error: no held-out faces under {args.datasets} or {args.extra}: pass --datasets (../shared/datasets, "
              f"its README) and --extra (the fetched data, MORE_DATA.md)", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if faces:
        kept, predictions = predict_at_scales(clf, faces, scales, crops=crops)
        sources = sorted({s.source for s, _ in kept}, key=lambda n: SOURCES.index(n) if n in SOURCES else len(SOURCES))
        metrics["detector_box_found"] = {name: _mean([f for s, f in kept if s.source == name]) for name in sources}
        metrics["by_scale"] = {}
        per_face = {"path": np.array([s.path for s, _ in kept]), "source": np.array([s.source for s, _ in kept])}
        for scale in scales:
            g_pred, probs = predictions[scale]
            per_source = {}
            for name in sources:
                idx = np.array([s.source == name for s, _ in kept])
                source_samples = [s for s, _ in kept if s.source == name]
                outcomes = face_outcomes(source_samples, g_pred[idx], probs[idx])
                per_source[name] = source_metrics(source_samples, g_pred[idx], probs[idx], outcomes)
                for key, values in outcomes.items():
                    per_face.setdefault(f"{scale:.1f}/{key}", np.full(len(kept), np.nan))[idx] = values
            per_source["overall"] = pooled_metrics(per_source, {n: per_source[n]["faces"] for n in sources})
            metrics["by_scale"][f"{scale:.1f}"] = per_source
            if scale == default_scale:
                for name in EXACT_AGE_SOURCES:
                    m = per_source.get(name)
                    if m and "confusion" in m:
                        plot_confusion(np.array(m["confusion"]), AGE_GROUPS, out / f"confusion_{name}.png",
                                       f"{name} held-out, {m['in_group_faces']} faces, slider {scale:.1f}: "
                                       f"exact {m['exact_acc']:.1%}, 1-off {m['one_off_acc']:.1%}")
        default = metrics["by_scale"][f"{default_scale:.1f}"]
        for key in ("gender_acc", "one_off_acc", "children_exact_acc"):  # headline figures (About box)
            metrics[key] = default["overall"][key]
        metrics["exact_acc"] = default.get("utkface", {}).get("exact_acc")
        np.savez_compressed(out / PER_FACE_FILE, **per_face)

    if args.adience:
        ad = read_adience(args.adience)
        if not ad:
            print(f"error: no usable Adience rows/images under {args.adience}", file=sys.stderr)
            return 2
        kept, predictions = predict_at_scales(clf, [(s, None, False) for s in ad], (default_scale,))
        g_pred, probs = predictions[default_scale]
        samples = [s for s, _ in kept]
        hard = np.array([s.age_soft.max() == 1.0 for s in samples])
        true_age = np.array([int(np.argmax(s.age_soft)) for s in samples])
        res = age_metrics(true_age[hard], probs.argmax(axis=1)[hard])
        known = np.array([s.gender >= 0 for s in samples])
        metrics["adience"] = {"faces": len(samples), "exact_acc": res["exact_acc"], "one_off_acc": res["one_off_acc"],
                              "gender_acc": _mean(g_pred[known] == np.array([s.gender for s in samples])[known]),
                              "confusion": res["confusion"]}
        plot_confusion(np.array(res["confusion"]), AGE_GROUPS, out / "confusion_adience.png", "Adience")

    if args.speed_runs:
        metrics["ms_per_face"] = time_batch1(clf, args.speed_runs)
    text = json.dumps(_json_safe(metrics), indent=1, allow_nan=False)
    (out / "metrics.json").write_text(text)
    if args.write_metrics:
        Path(args.write_metrics).write_text(text)
    print(summary_table(metrics))
    return 0


def summary_table(metrics: dict) -> str:
    """A plain-text table: one row per slider setting and source."""
    def pct(v):
        return "    -" if v is None else f"{v:6.1%}"
    lines = [f"{'slider':>6} {'source':>9} {'faces':>6} {'exact':>7} {'1-off':>7} {'child':>7} {'gender':>7}"]
    for scale, per_source in metrics.get("by_scale", {}).items():
        for name, m in per_source.items():
            lines.append(f"{scale:>6} {name:>9} {m.get('faces', ''):>6} {pct(m.get('exact_acc')):>7} "
                         f"{pct(m.get('one_off_acc')):>7} {pct(m.get('children_exact_acc')):>7} {pct(m.get('gender_acc')):>7}")
    if "ms_per_face" in metrics:
        lines.append(f"speed: {metrics['ms_per_face']:.1f} ms per face (batch 1)")
    if "detector_box_found" in metrics:
        lines.append("detector box found: " + ", ".join(f"{k} {v:.1%}" for k, v in metrics["detector_box_found"].items()))
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(run_tool(main))
