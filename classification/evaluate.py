"""Evaluate the age-group + gender classifier on held-out faces: `python -m classification.evaluate --help`.

Held-out data is the fixed 'test' split of `classification.cache.split_name` (10% of UTKFace and of
FairFace by a hash of the file name; never trained on, never used for model selection). Crops are cut
exactly as the app cuts them (`square_crop` at `--scale`). Reported:
* UTKFace: exact and 1-off (within one group) age-group accuracy on faces whose age lies inside an Adience
  group (ages in the gaps have no single right answer), the same with gap ages snapped to the nearest
  group, gender accuracy, per-group recall and a confusion-matrix plot;
* FairFace: gender accuracy, and how often the predicted group overlaps the annotated age range;
* Adience (`--adience PATH`, the real fold files + images): exact, 1-off and gender accuracy;
* speed: ms per face at batch 1 in the app's runtime.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from classification.labels import AGE_GROUP_BOUNDS_YEARS, AGE_GROUPS, hard_group, nearest_group
from runtime import REPO_ROOT

DEFAULT_DATASETS = REPO_ROOT.parent / "shared" / "datasets"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--weights", default=None, help=".tflite or .keras (default: shipped)")
    p.add_argument("--datasets", default=str(DEFAULT_DATASETS))
    p.add_argument("--adience", default=None, help="folder with fold_N_data.txt and faces/ or aligned/")
    p.add_argument("--scale", type=float, default=None, help="face-extraction scale (default: the app's)")
    p.add_argument("--limit", type=int, default=0, help="evaluate at most N faces per set (0: all)")
    p.add_argument("--speed-runs", type=int, default=100)
    p.add_argument("--out", default=str(REPO_ROOT / "runs" / "eval" / "classifier"))
    p.add_argument("--write-metrics", default=None, help="also write the metrics JSON here")
    return p.parse_args(argv)


def predict_samples(classifier, samples, scale: float, batch: int = 32):
    from classification.cache import load_face
    gender_pred, age_probs, keep = [], [], []
    for start in tqdm(range(0, len(samples), batch), desc="classifying", unit="batch", mininterval=5):
        chunk = samples[start:start + batch]
        faces = [load_face(s, scale, classifier.input_size_px) for s in chunk]
        ok = [f is not None for f in faces]
        crops = [f[:, :, ::-1] for f in faces if f is not None]  # load_face gives RGB; the API takes BGR
        results = classifier.predict(crops)
        it = iter(results)
        for good in ok:
            keep.append(good)
            if good:
                r = next(it)
                gender_pred.append(0 if r.gender == "male" else 1)
                age_probs.append(r.age_probs)
    return np.array(gender_pred), np.array(age_probs).reshape(-1, 8), np.array(keep, bool)


def age_metrics(true_groups: np.ndarray, pred_groups: np.ndarray) -> dict:
    diff = np.abs(true_groups - pred_groups)
    confusion = np.zeros((8, 8), np.int64)
    np.add.at(confusion, (true_groups, pred_groups), 1)
    recall = confusion.diagonal() / np.maximum(confusion.sum(axis=1), 1)
    return {"exact_acc": float(np.mean(diff == 0)), "one_off_acc": float(np.mean(diff <= 1)),
            "per_group_recall": {g: float(r) for g, r in zip(AGE_GROUPS, recall)},
            "confusion": confusion.tolist(), "faces": int(len(true_groups))}


def overlaps_range(group: int, age_range) -> bool:
    lo, hi = AGE_GROUP_BOUNDS_YEARS[group]
    return not (hi < age_range[0] or lo > age_range[1])


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


def main(argv=None) -> int:
    args = parse_args(argv)
    from classification import AgeGenderClassifier
    from classification.cache import split_name
    from classification.datasets import read_adience, read_fairface, read_utkface
    from classification.plots import plot_confusion
    from pipeline.config import AppConfig
    from pipeline.errors import WeightsError
    scale = args.scale or AppConfig().crop_scale
    try:
        clf = AgeGenderClassifier(args.weights, trust_checkpoint=True)  # our own training runs' .keras files
    except WeightsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    datasets = Path(args.datasets)
    metrics = {"weights": str(clf.weights), "input_size_px": clf.input_size_px, "crop_scale": scale,
               "split": "classification.cache.split_name == 'test' (sha1 of source:file name, 10%)"}

    def held_out(reader, folder: Path):
        """The fixed test split of one dataset, classified: (samples kept, gender preds, age probs)."""
        samples = [s for s in reader(folder) if split_name(s) == "test"] if folder.is_dir() else []
        samples = samples[: args.limit] if args.limit else samples
        if not samples:
            return [], None, None
        g_pred, probs, keep = predict_samples(clf, samples, scale)
        return [s for s, k in zip(samples, keep) if k], g_pred, probs

    kept, g_pred, probs = held_out(read_utkface, datasets / "utkface")
    if kept:
        ages = np.array([s.age_years for s in kept])
        pred = probs.argmax(axis=1)
        in_group = np.array([hard_group(a) is not None for a in ages])
        strict = age_metrics(np.array([hard_group(a) for a in ages[in_group]], int), pred[in_group])
        nearest = np.array([nearest_group(a) for a in ages])
        snapped = age_metrics(nearest, pred)
        gender_true = np.array([s.gender for s in kept])
        gender_by_group = {name: float(np.mean(g_pred[nearest == i] == gender_true[nearest == i]))
                           for i, name in enumerate(AGE_GROUPS) if np.any(nearest == i)}
        metrics["utkface"] = {"faces": len(kept), "in_group_faces": int(in_group.sum()),
                              "gender_acc_by_nearest_age_group": gender_by_group,
                              "exact_acc": strict["exact_acc"], "one_off_acc": strict["one_off_acc"],
                              "exact_acc_gap_ages_snapped": snapped["exact_acc"],
                              "one_off_acc_gap_ages_snapped": snapped["one_off_acc"],
                              "gender_acc": float(np.mean(g_pred == gender_true)),
                              "per_group_recall": strict["per_group_recall"], "confusion": strict["confusion"]}
        plot_confusion(np.array(strict["confusion"]), AGE_GROUPS, out / "confusion_utkface.png",
                       f"UTKFace held-out, {in_group.sum()} faces: exact {strict['exact_acc']:.1%}, "
                       f"1-off {strict['one_off_acc']:.1%}")

    kept, g_pred, probs = held_out(read_fairface, datasets / "fairface")
    if kept:
        pred = probs.argmax(axis=1)
        known = np.array([s.gender >= 0 for s in kept])
        gender_true = np.array([s.gender for s in kept])
        metrics["fairface"] = {"faces": len(kept),
                               "gender_acc": float(np.mean(g_pred[known] == gender_true[known])),
                               "age_group_overlaps_annotated_range": float(np.mean(
                                   [overlaps_range(p, s.age_range_years) for p, s in zip(pred, kept)]))}

    if args.adience:
        ad = read_adience(args.adience)
        if not ad:
            print(f"error: no usable Adience rows/images under {args.adience}", file=sys.stderr)
            return 2
        g_pred, probs, keep = predict_samples(clf, ad, scale)
        kept = [s for s, k in zip(ad, keep) if k]
        hard = np.array([s.age_soft.max() == 1.0 for s in kept])
        true_age = np.array([int(np.argmax(s.age_soft)) for s in kept])
        res = age_metrics(true_age[hard], probs.argmax(axis=1)[hard])
        known = np.array([s.gender >= 0 for s in kept])
        metrics["adience"] = {"faces": len(kept), "exact_acc": res["exact_acc"], "one_off_acc": res["one_off_acc"],
                              "gender_acc": float(np.mean(g_pred[known] == np.array([s.gender for s in kept])[known])),
                              "confusion": res["confusion"]}
        plot_confusion(np.array(res["confusion"]), AGE_GROUPS, out / "confusion_adience.png", "Adience")

    if "utkface" in metrics:  # headline figures (About box, model card)
        for key in ("exact_acc", "one_off_acc", "gender_acc"):
            metrics[key] = metrics["utkface"][key]
    if args.speed_runs:
        fast = AgeGenderClassifier(args.weights, threads=0, trust_checkpoint=True)
        metrics["ms_per_face"] = time_batch1(fast, args.speed_runs)
    text = json.dumps(metrics, indent=1)
    (out / "metrics.json").write_text(text)
    if args.write_metrics:
        Path(args.write_metrics).write_text(text)
    print(json.dumps({k: v for k, v in metrics.items() if k not in ("utkface",)} |
                     {"utkface": {k: v for k, v in metrics.get("utkface", {}).items() if k != "confusion"}}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
