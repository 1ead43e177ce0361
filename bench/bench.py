"""Frame-budget benchmark: `python -m bench.bench` (writes a table and bench/results.json).

Runs the real pipeline with the shipped weights over the demo clip's 640x480 segments with 1, 3 and 8
faces and reports, for the app's tracked mode and for a plain baseline (detect + classify every face on
every frame, no tracking) in the same process:
* end-to-end frames per second and per-stage latency (decode, detect, crop, classify, track, draw),
  median and 95th percentile;
* label stability: how often a person's shown gender or age group changes per minute of video, with
  smoothing on and off;
* peak resident memory of this process, and the time from `python main.py --source clip` to the first
  drawn frame (a separate process, offscreen).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from runtime import REPO_ROOT

CLIP = REPO_ROOT / "demo" / "demo_faces.mp4"
STAGES = ("decode", "detect", "crop", "classify", "track", "draw", "total")


def load_segments(clip: Path) -> list[dict]:
    meta = json.loads(clip.with_suffix(".json").read_text())
    cap = cv2.VideoCapture(str(clip))
    frames = []
    decode_ms = []
    while True:
        t0 = time.perf_counter()
        ok, frame = cap.read()
        if not ok:
            break
        decode_ms.append((time.perf_counter() - t0) * 1e3)
        frames.append(frame)
    segments = []
    for seg in meta["segments"]:
        sl = slice(seg["first_frame"], seg["first_frame"] + seg["frames"])
        segments.append({"faces": seg["faces"], "frames": frames[sl], "decode_ms": decode_ms[sl], "fps": meta["fps"]})
    return segments


def pct(values, q):
    return float(np.percentile(values, q)) if values else float("nan")


def label_changes_per_minute(per_frame_faces: list[list], fps: float) -> float:
    """Shown-label changes per person per minute, identities from box overlap across frames."""
    from pipeline.tracker import IouTracker
    ident = IouTracker(0.3, 5)
    last, changes, person_frames = {}, 0, 0
    for faces in per_frame_faces:
        tracks = ident.update(faces)
        for face, track in zip(faces, tracks):
            if not face.is_classified:
                continue
            person_frames += 1
            label = (face.gender, face.age_group)
            if track.track_id in last and last[track.track_id] != label:
                changes += 1
            last[track.track_id] = label
    minutes = person_frames / fps / 60.0
    return changes / minutes if minutes > 0 else float("nan")


def run_mode(analyzer, segment: dict, mode: str, annotator, warmup: int = 3) -> dict:
    analyzer.reset()
    timings = {s: [] for s in STAGES}
    outputs = []
    frames = segment["frames"]
    for i, frame in enumerate(frames):
        t0 = time.perf_counter()
        faces = analyzer.track(frame) if mode == "tracked" else analyzer.analyze(frame)
        t1 = time.perf_counter()
        annotator.annotate(frame.copy(), faces)
        t2 = time.perf_counter()
        outputs.append(faces)
        if i < warmup:
            continue
        stage = analyzer.last_timings_ms
        for key in ("detect", "crop", "classify", "track"):
            timings[key].append(stage[key])
        timings["decode"].append(segment["decode_ms"][i])
        timings["draw"].append((t2 - t1) * 1e3)
        timings["total"].append((t2 - t0) * 1e3 + segment["decode_ms"][i])
    total = sum(timings["total"])
    return {"fps": len(timings["total"]) / (total / 1e3) if total else float("nan"),
            "faces_per_frame": float(np.mean([len(f) for f in outputs])),
            "median_ms": {s: statistics.median(v) for s, v in timings.items() if v},
            "p95_ms": {s: pct(v, 95) for s, v in timings.items() if v},
            "label_changes_per_min": label_changes_per_minute(outputs, segment["fps"])}


def time_to_first_frame(clip: Path, timeout_s: float = 120.0) -> float | None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    try:
        result = subprocess.run([sys.executable, "main.py", "--source", str(clip), "--exit-after-frames", "1"],
                                cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return None
    for line in result.stderr.splitlines():
        if line.startswith("first frame drawn after"):
            return float(line.split()[4])
    return None


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clip", default=str(CLIP))
    p.add_argument("--out", default=str(REPO_ROOT / "bench" / "results.json"))
    p.add_argument("--skip-startup", action="store_true", help="do not time the GUI's first frame")
    p.add_argument("--detector", default=None, help="detector weights to compare (default: shipped)")
    p.add_argument("--classifier", default=None, help="classifier weights to compare (default: shipped)")
    p.add_argument("--detector-imgsz", type=int, default=None, help="detector input size (default: the app's)")
    args = p.parse_args(argv)
    from pipeline.analyzer import FaceAnalyzer
    from pipeline.annotate import FaceAnnotator
    from pipeline.config import AppConfig

    segments = load_segments(Path(args.clip))
    config = AppConfig(trust_checkpoints=True)  # --detector/--classifier compare our own training runs
    if args.detector:
        config.detector_weights = Path(args.detector)
    if args.classifier:
        config.classifier_weights = Path(args.classifier)
    if args.detector_imgsz:
        config.detector_imgsz_px = args.detector_imgsz
    smooth = FaceAnalyzer(config)
    raw = FaceAnalyzer(replace(config, smoothing=False), detector=smooth.detector, classifier=smooth.classifier)
    annotator = FaceAnnotator()
    results = {"config": {k: str(v) for k, v in vars(config).items()}, "segments": []}
    for seg in segments:
        row = {"faces": seg["faces"], "frames": len(seg["frames"]),
               "tracked": run_mode(smooth, seg, "tracked", annotator),
               "tracked_no_smoothing": run_mode(raw, seg, "tracked", annotator),
               "baseline_every_frame": run_mode(smooth, seg, "baseline", annotator)}
        results["segments"].append(row)
        print(f"{seg['faces']} faces: done", file=sys.stderr)
    results["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if not args.skip_startup:
        results["first_frame_s"] = time_to_first_frame(Path(args.clip))
        results["gui_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    results["machine"] = {"cpus": os.cpu_count(), "python": sys.version.split()[0]}
    Path(args.out).write_text(json.dumps(results, indent=1))
    print_table(results)
    return 0


def print_table(results: dict) -> None:
    print(f"{'faces':>5} {'mode':<22} {'FPS':>6} " + " ".join(f"{s + ' p50/p95':>16}" for s in STAGES[:-1])
          + f" {'changes/min':>11}")
    for seg in results["segments"]:
        for mode in ("tracked", "tracked_no_smoothing", "baseline_every_frame"):
            r = seg[mode]
            cells = " ".join(f"{r['median_ms'].get(s, float('nan')):7.1f}/{r['p95_ms'].get(s, float('nan')):<8.1f}"
                             for s in STAGES[:-1])
            print(f"{seg['faces']:>5} {mode:<22} {r['fps']:6.1f} {cells} {r['label_changes_per_min']:11.2f}")
    print(f"peak RSS {results['peak_rss_mb']:.0f} MB", end="")
    if "first_frame_s" in results:
        ff = results["first_frame_s"]
        print(f"; GUI first frame {'n/a' if ff is None else f'{ff:.2f} s'}; GUI peak RSS {results['gui_peak_rss_mb']:.0f} MB")
    else:
        print()


if __name__ == "__main__":
    sys.exit(main())
