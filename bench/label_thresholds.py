"""Measure the "honest label" thresholds: `python -m bench.label_thresholds` (writes bench/label_thresholds.json).

The tag shows "?" for gender or age group when its probability is below a threshold, and a marker instead
of a label for faces too small or too dark to judge. This command measures, on the classifier's fixed
held-out split (the `facedata.datasets.split_name == "test"` faces of UTKFace and FairFace, never
trained on), what each threshold buys in accuracy and costs in answered faces, so the constants in
`core.face` are chosen from numbers rather than by eye:

* gender: coverage (share of faces answered) and accuracy of the answered faces for each P(gender)
  threshold, for all faces, adults (15+) and children (under 13, the known weak spot); and the same when
  faces that look 20 or younger (`core.face.looks_young`) are held to a stricter threshold than the rest;
* age group: coverage and exact / within-one-group accuracy of the answered faces (UTKFace faces whose
  age lies inside an Adience group) for each P(age group) threshold;
* face size: the same faces shrunk so the face box is N px wide, then cropped and upscaled exactly as the
  app does, to find the size below which the classifier's answers stop being worth showing;
* darkness: the same faces darkened until the brightest tenth of the face (its 90th-percentile grey
  level, the statistic the app tests) reaches a given level, with sensor-like noise, likewise; and, at
  the photos' own exposure, the share of FairFace faces of each annotated race the darkness test would
  mark, so that it marks darkness and not dark skin.

Separate from `classification.evaluate` on purpose: that command reports the model; this one reports
the app's display policy on top of it.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2
import numpy as np

from core.cli import OneLineParser, positive, run_tool
from core.labels import NUM_AGE_GROUPS
from core.paths import DATASETS_DIR, EXTRA_DATA_DIR, REPO_ROOT

GENDER_THRESHOLDS = (0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)
GENDER_BANDS = ("all", "adults", "children")                # faces, ages 15+, under 13 (is_adult, is_child)
YOUNG_GENDER_THRESHOLDS = (0.85, 0.9, 0.95, 0.97, 0.99)   # for faces that look 20 or younger
AGE_THRESHOLDS = (0.0, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7)
FACE_SIDES_PX = (12, 16, 20, 24, 32, 48, 0)        # 0: the original size
FACE_LUMA_LEVELS = (15, 25, 32, 40, 50, 70, 0)     # 90th-percentile grey level of the face box; 0: unchanged
MEAN_LUMA_RULE = 35                                # the rejected first darkness test: mean grey < 35
DARK_LIMITS_CHECKED = (50, 60, 70)                 # darkness limits checked against lit faces of every race
NOISE_SIGMA_GREY = 3.0                             # sensor noise added to darkened faces
RESULTS = REPO_ROOT / "bench" / "label_thresholds.json"


def held_out_samples(datasets: Path) -> list:
    from facedata.datasets import read_fairface, read_utkface, split_name
    out = []
    for reader, folder in ((read_utkface, datasets / "utkface"), (read_fairface, datasets / "fairface")):
        if folder.is_dir():
            out += [s for s in reader(folder) if split_name(s) == "test" and s.gender >= 0]
    return out


def is_child(sample) -> bool:
    if sample.age_range_years is not None:
        return sample.age_range_years[1] <= 9
    return sample.age_years < 13


def is_adult(sample) -> bool:
    if sample.age_range_years is not None:
        return sample.age_range_years[0] >= 20
    return sample.age_years >= 15


def degrade(image: np.ndarray, box, face_side_px: int = 0, face_luma: int = 0, seed: int = 0):
    """The image (and box) as the app would see a face of `face_side_px` width / `face_luma` highlight level."""
    if face_side_px:
        factor = face_side_px / max(box[2] - box[0], 1.0)
        if factor < 1.0:
            image = cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
            box = tuple(v * factor for v in box)
    if face_luma:
        from core.face import face_highlight_luma
        current = face_highlight_luma(image, box)
        noise = np.random.default_rng(seed).normal(0, NOISE_SIGMA_GREY, image.shape)
        image = np.clip(image.astype(np.float32) * (face_luma / max(current, 1.0)) + noise, 0, 255).astype(np.uint8)
    return image, box


def classify(classifier, samples, scale: float, face_side_px: int = 0, face_luma: int = 0, batch: int = 32):
    """(P(female), 8-way age probabilities) per sample; unreadable images are dropped from `samples`."""
    from classification.cache import expected_box
    from core.crop import square_crop
    female, ages, kept = [], [], []
    for start in range(0, len(samples), batch):
        crops = []
        for i, s in enumerate(samples[start:start + batch]):
            image = cv2.imread(s.path, cv2.IMREAD_COLOR)
            if image is None:
                continue
            image, box = degrade(image, expected_box(s, image.shape[1], image.shape[0]), face_side_px, face_luma,
                                 seed=start + i)
            crops.append(square_crop(image, box, scale, classifier.input_size_px))
            kept.append(s)
        for r in classifier.predict(crops):
            female.append(r.female_prob)
            ages.append(r.age_probs)
    return np.array(female), np.array(ages).reshape(-1, NUM_AGE_GROUPS), kept


def gender_bands(female: np.ndarray, samples: list, thresholds: np.ndarray) -> dict:
    """Share answered and accuracy of the answered genders, for all faces, adults and children, when each
    face is answered at or above its own threshold."""
    truth = np.array([s.gender for s in samples])
    prob = np.maximum(female, 1.0 - female)
    right = (female >= 0.5).astype(int) == truth
    masks = (np.ones(len(samples), bool), np.array([is_adult(s) for s in samples]),
             np.array([is_child(s) for s in samples]))
    groups = dict(zip(GENDER_BANDS, masks))
    out = {}
    for name, mask in groups.items():
        answered = mask & (prob >= thresholds)
        out[name] = {"faces": int(mask.sum()), "answered": float(answered.sum() / max(mask.sum(), 1)),
                     "answered_faces": int(answered.sum()),
                     "acc_answered": float(right[answered].mean()) if answered.any() else None,
                     "acc_all": float(right[mask].mean()) if mask.any() else None}
    return out


def gender_table(female: np.ndarray, samples: list) -> list[dict]:
    """One threshold for every face."""
    return [{"threshold": t, **gender_bands(female, samples, np.full(len(samples), t))} for t in GENDER_THRESHOLDS]


def young_gender_table(female: np.ndarray, ages: np.ndarray, samples: list, adult_threshold: float) -> list[dict]:
    """`adult_threshold` for faces that look older than 20 and each candidate threshold for those that look
    20 or younger (`core.face.looks_young`), as the app judges them."""
    from core.face import looks_young
    young = np.array([looks_young(a) for a in ages], bool)
    return [{"young_threshold": t, "adult_threshold": adult_threshold, "looks_young": float(young.mean()),
             **gender_bands(female, samples, np.where(young, t, adult_threshold))}
            for t in YOUNG_GENDER_THRESHOLDS if t >= adult_threshold]


def age_table(ages: np.ndarray, samples: list) -> list[dict]:
    from core.labels import hard_group
    in_group = np.array([s.source == "utkface" and hard_group(s.age_years) is not None for s in samples])
    truth = np.array([hard_group(s.age_years) if g else -1 for s, g in zip(samples, in_group)])
    pred, top = ages.argmax(axis=1), ages.max(axis=1)
    rows = []
    for t in AGE_THRESHOLDS:
        answered = in_group & (top >= t)
        diff = np.abs(pred - truth)[answered]
        rows.append({"threshold": t, "faces": int(in_group.sum()),
                     "answered": float(answered.sum() / max(in_group.sum(), 1)),
                     "exact_answered": float(np.mean(diff == 0)) if answered.any() else None,
                     "one_off_answered": float(np.mean(diff <= 1)) if answered.any() else None})
    return rows


def fairface_held_out(datasets: Path, extra: Path) -> tuple[list, Path | None]:
    """FairFace's held-out faces (the classifier's test split) from the largest copy present, and its CSV."""
    from facedata.datasets import read_training_sources, split_name
    faces = [s for s in read_training_sources(datasets, extra) if s.source == "fairface" and split_name(s) == "test"]
    for csv_path in (Path(extra) / "fairface" / "fairface_label_train.csv",
                     Path(datasets) / "fairface" / "fairface_label_train.csv"):
        if csv_path.is_file():
            return faces, csv_path
    return faces, None


def too_dark_by_race(csv_path: Path | None, samples: list, limits=DARK_LIMITS_CHECKED) -> dict:
    """Share of FairFace held-out faces, at their own exposure, that the darkness test marks, per race: at
    the app's limit, at each of `limits` (is a higher limit safe for lit dark skin?), and, for comparison,
    by a test on the box's mean grey level (below `MEAN_LUMA_RULE`)."""
    import csv
    from classification.cache import expected_box
    from core.face import MIN_FACE_HIGHLIGHT_LUMA, face_highlight_luma
    if csv_path is None:
        return {}
    with open(csv_path, newline="", encoding="utf-8") as handle:
        race = {row["file"]: row.get("race", "") for row in csv.DictReader(handle)}
    measured: dict[str, list[tuple[float, float]]] = {}
    for s in samples:
        if s.source != "fairface":
            continue
        image = cv2.imread(s.path, cv2.IMREAD_COLOR)
        if image is None:
            continue
        box = expected_box(s, image.shape[1], image.shape[0])
        x1, y1, x2, y2 = (int(v) for v in box)
        mean = float(cv2.cvtColor(image[max(y1, 0):y2, max(x1, 0):x2], cv2.COLOR_BGR2GRAY).mean())
        measured.setdefault(race.get(s.subject, "?"), []).append((face_highlight_luma(image, box), mean))
    return {r: {"faces": len(v),
                "marked_too_dark": float(np.mean([luma < MIN_FACE_HIGHLIGHT_LUMA for luma, _ in v])),
                "marked_at": {str(limit): float(np.mean([luma < limit for luma, _ in v])) for limit in limits},
                "marked_by_mean_rule": float(np.mean([mean < MEAN_LUMA_RULE for _, mean in v]))}
            for r, v in sorted(measured.items())}


def sweep_row(female: np.ndarray, ages: np.ndarray, samples: list, age_min: float) -> dict:
    from core.face import gender_min_prob
    from core.labels import nearest_group
    truth = np.array([s.gender for s in samples])
    prob = np.maximum(female, 1.0 - female)
    right = (female >= 0.5).astype(int) == truth
    utk = np.array([s.source == "utkface" for s in samples])
    near = np.array([nearest_group(s.age_years) if u else -1 for s, u in zip(samples, utk)])
    one_off = np.abs(ages.argmax(axis=1) - near) <= 1
    return {"gender_acc": float(right.mean()), "age_one_off_acc": float(one_off[utk].mean()),
            "gender_answered": float(np.mean(prob >= np.array([gender_min_prob(a) for a in ages]))),
            "age_answered": float(np.mean(ages.max(axis=1) >= age_min))}


def main(argv=None) -> int:
    p = OneLineParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", default=str(DATASETS_DIR))
    p.add_argument("--extra", default=str(EXTRA_DATA_DIR), help="fetched data (MORE_DATA.md): more FairFace faces "
                   "for the darkness-by-race check")
    p.add_argument("--weights", default=None, help="classifier weights, .tflite (default: shipped)")
    p.add_argument("--trust-checkpoints", action="store_true",
                   help="also accept a .keras training checkpoint for --weights; loading one runs code stored in "
                        "it, so use only files you made yourself")
    p.add_argument("--sweep-faces", type=positive(int), default=600, help="faces used for the size and darkness sweeps")
    p.add_argument("--out", default=None, help=f"results file (default: {RESULTS.relative_to(REPO_ROOT)}, rewritten)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a file already at an --out you name (default: refuse; the default file, tracked "
                        "by git, is always rewritten)")
    args = p.parse_args(argv)
    from bench.bench import check_out
    out = Path(args.out) if args.out else RESULTS
    check_out(out, args.out is not None, args.overwrite)
    from classification import AgeGenderClassifier
    from core.config import AppConfig
    from core.face import AGE_MIN_PROB, GENDER_MIN_PROB, GENDER_MIN_PROB_YOUNG, MIN_FACE_HIGHLIGHT_LUMA

    clf = AgeGenderClassifier(args.weights, trust_checkpoint=args.trust_checkpoints)  # bad weights: before any work
    samples = held_out_samples(Path(args.datasets))
    if not samples:
        print(f"error: no held-out UTKFace/FairFace faces under {args.datasets}", file=sys.stderr)
        return 2
    scale = AppConfig().crop_scale
    female, ages, kept = classify(clf, samples, scale)
    fairface_faces, race_csv = fairface_held_out(Path(args.datasets), Path(args.extra))
    result = {"faces": len(kept), "crop_scale": scale, "gender_min_prob": GENDER_MIN_PROB,
              "gender_min_prob_young": GENDER_MIN_PROB_YOUNG,
              "age_min_prob": AGE_MIN_PROB, "min_face_highlight_luma": MIN_FACE_HIGHLIGHT_LUMA,
              "gender": gender_table(female, kept), "gender_young": young_gender_table(female, ages, kept, GENDER_MIN_PROB),
              "age": age_table(ages, kept),
              "too_dark_by_race": too_dark_by_race(race_csv, fairface_faces)}
    sweep = [s for s in kept if s.source == "utkface"]
    sweep = [sweep[i] for i in np.random.default_rng(0).permutation(len(sweep))[:args.sweep_faces]]
    result["face_side_px"] = {}
    for side in FACE_SIDES_PX:
        f, a, k = classify(clf, sweep, scale, face_side_px=side)
        result["face_side_px"][str(side or "original")] = sweep_row(f, a, k, AGE_MIN_PROB)
        print(f"face side {side or 'original'}: {result['face_side_px'][str(side or 'original')]}", file=sys.stderr)
    result["face_luma"] = {}
    for luma in FACE_LUMA_LEVELS:
        f, a, k = classify(clf, sweep, scale, face_luma=luma)
        result["face_luma"][str(luma or "original")] = sweep_row(f, a, k, AGE_MIN_PROB)
        print(f"face luma {luma or 'original'}: {result['face_luma'][str(luma or 'original')]}", file=sys.stderr)
    out.write_text(json.dumps(result, indent=1))
    print_report(result)
    return 0


def _band_cells(row: dict) -> str:
    """'answered / accuracy of answered' for each band of a `gender_bands` row."""
    return " | ".join(f"{row[g]['answered']:6.1%} / {row[g]['acc_answered'] or 0:6.1%}" for g in GENDER_BANDS)


def print_report(result: dict) -> None:
    print(f"{result['faces']} held-out faces (UTKFace + FairFace test split)")
    print("gender threshold: answered / accuracy of answered  (all | adults | children)")
    for row in result["gender"]:
        print(f"  {row['threshold']:.2f}: {_band_cells(row)}")
    print(f"gender threshold for faces that look 20 or younger ({result['gender_min_prob']:.2f} for the rest): "
          "answered / accuracy of answered  (all | adults | children)")
    for row in result.get("gender_young", []):
        print(f"  {row['young_threshold']:.2f}: {_band_cells(row)}  ({row['children']['answered_faces']} children answered)")
    print("age-group threshold: answered / exact / within one group (UTKFace faces inside a group)")
    for row in result["age"]:
        print(f"  {row['threshold']:.2f}: {row['answered']:6.1%} / {row['exact_answered'] or 0:6.1%} / "
              f"{row['one_off_answered'] or 0:6.1%}")
    for key, title in (("face_side_px", "face width px"), ("face_luma", "face highlight level (p90 grey)")):
        print(f"{title}: gender acc / age within-one acc / gender answered / age answered")
        for level, row in result[key].items():
            print(f"  {level:>8}: {row['gender_acc']:6.1%} / {row['age_one_off_acc']:6.1%} / "
                  f"{row['gender_answered']:6.1%} / {row['age_answered']:6.1%}")
    print("marked too dark at the photos' own exposure (FairFace held-out, by annotated race): "
          f"brightest tenth < {result['min_face_highlight_luma']} (app) / < "
          + " / < ".join(str(limit) for limit in DARK_LIMITS_CHECKED) + f" / mean < {MEAN_LUMA_RULE}")
    for race, row in result.get("too_dark_by_race", {}).items():
        at = " / ".join(f"{row.get('marked_at', {}).get(str(limit), 0):6.1%}" for limit in DARK_LIMITS_CHECKED)
        print(f"  {race:>16}: {row['marked_too_dark']:6.1%} / {at} / {row['marked_by_mean_rule']:6.1%} of {row['faces']}")


if __name__ == "__main__":
    sys.exit(run_tool(main))
